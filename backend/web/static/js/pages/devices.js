// Sync health of the experts' phones in my scope (least recently synced first).

import {api} from '../api.js';
import {h, mount, fmtDateTime, badge, table, loading} from '../dom.js';
import {problemBox} from '../ui.js';

const STALE_MS = 3 * 24 * 3600 * 1000;

function skewText(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  return Math.abs(s) < 60 ? `${s} 秒` : `${Math.round(s / 60)} 分钟`;
}

export async function devicesPage(view) {
  mount(view, h('h1', {}, '手机同步状态 Phone sync health'), loading());
  let devices;
  try {
    devices = await api.get('/api/v1/sync/devices', {limit: 500});
  } catch (err) {
    mount(view, h('h1', {}, '手机同步状态 Phone sync health'), problemBox(err, {unavailable: '同步状态接口尚未提供。'}));
    return;
  }
  // Officers' browsers register as devices too (`web-…`); this page is about the experts' phones.
  const browsers = devices.filter((d) => d.device_id.startsWith('web-')).length;
  devices = devices.filter((d) => !d.device_id.startsWith('web-'));
  const now = Date.now();
  const stale = (d) => !d.last_sync_at || now - new Date(d.last_sync_at).getTime() > STALE_MS;
  mount(view, h('h1', {}, '手机同步状态 Phone sync health'),
    h('p', {class: 'muted'}, '超过 3 天未同步的设备标为红色；待上传条数由手机在每次同步时报告。',
      browsers ? `（已略去 ${browsers} 个网页控制台登录设备）` : ''),
    table([
      {label: '专家 Expert', cell: (d) => d.user_name},
      {label: '设备 Device', cell: (d) => h('code', {}, d.device_id)},
      {label: 'App 版本', cell: (d) => d.app_version || '—'},
      {label: '最后同步 Last sync', cell: (d) => [fmtDateTime(d.last_sync_at), stale(d) ? badge('久未同步', 'bad') : null]},
      {label: '待上传 Pending', cell: (d) => d.pending_count === null ? '—' : String(d.pending_count)},
      {label: '最早待传 Oldest pending', cell: (d) => fmtDateTime(d.oldest_pending_at)},
      {label: '时钟偏差 Clock skew', cell: (d) => skewText(d.clock_skew_ms)},
    ], devices, {rowClass: (d) => stale(d) ? 'overdue' : null, empty: '暂无设备 (no devices)'}));
}

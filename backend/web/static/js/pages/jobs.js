// Admin: the background job queue (exports, reminders, the horizon purge) and the notification delivery log.

import {api} from '../api.js';
import {h, mount, fmtDateTime, badge, table, section, loading} from '../dom.js';
import {problemBox, flash, showError} from '../ui.js';

const STATUS = {queued: ['排队', ''], picked: ['运行中', 'ok'], failed: ['失败待处理', 'bad'],
  successful: ['完成', 'ok'], exception: ['异常', 'bad'], canceled: ['取消', ''], deleted: ['删除', '']};
const DELIVERY = {sent: ['已发送', 'ok'], pending: ['待重试', ''], failed: ['失败', 'bad'], suppressed: ['未发送', '']};

function statusBadge(map, s) {
  const [label, kind] = map[s] || [s, ''];
  return badge(label, kind);
}

/** Put a held failed job back on the queue, then show the page again with the outcome on top. */
async function retry(view, job, status) {
  if (!confirm(`重新排队任务 #${job.id}（${job.job}）？将从第 1 次尝试重新运行。Retry this job?`)) return;
  try {
    await api.post(`/api/v1/admin/jobs/${job.id}/retry`);
  } catch (err) {
    showError(status, err);
    return;
  }
  await render(view, `任务 #${job.id} 已重新排队 (queued again)`);
}

export function jobsPage(view) {
  return render(view, '');
}

async function render(view, notice) {
  const title = h('h1', {}, '后台任务与通知 Jobs & notifications');
  const status = h('div', {class: 'jobs-status', 'aria-live': 'polite'});
  if (notice) flash(status, notice);
  mount(view, title, loading());
  let jobs;
  let log;
  try {
    [jobs, log] = await Promise.all([
      api.get('/api/v1/admin/jobs', {limit: 50}),
      api.get('/api/v1/admin/notifications/deliveries', {limit: 100}),
    ]);
  } catch (err) {
    mount(view, title, problemBox(err));
    return;
  }
  const counts = Object.entries(log.counts).map(([s, n]) => `${(DELIVERY[s] || [s])[0]} ${n}`).join(' · ');
  mount(view, title, status,
    h('p', {class: 'muted'}, jobs.workers.length
      ? `正在工作的 worker：${jobs.workers.length}（运行中的任务 ${jobs.workers.reduce((n, w) => n + w.running, 0)}）`
      : '当前没有正在运行任务的 worker（空闲的 worker 不显示）。'),
    section('队列 Queue', table([
      {label: '任务 Job', cell: (c) => h('code', {}, c.job)},
      {label: '状态 Status', cell: (c) => statusBadge(STATUS, c.status)},
      {label: '数量 Count', cell: (c) => String(c.count)},
      {label: '最早 Oldest', cell: (c) => fmtDateTime(c.oldest)},
      {label: '下次运行 Next run', cell: (c) => fmtDateTime(c.next_run)},
    ], jobs.counts, {empty: '队列为空 (queue empty)'})),
    section('失败待处理 Failed (held)', table([
      {label: '#', cell: (j) => String(j.id)},
      {label: '任务 Job', cell: (j) => h('code', {}, j.job)},
      {label: '尝试次数 Attempts', cell: (j) => String(j.attempts + 1)},
      {label: '失败时间 Failed at', cell: (j) => fmtDateTime(j.failed_at)},
      {label: '操作 Action', cell: (j) => h('button', {type: 'button', class: 'small', 'data-retry': String(j.id),
        onclick: () => retry(view, j, status)}, '重新排队 Retry')},
    ], jobs.failed, {empty: '没有失败的任务 (none)', rowClass: () => 'overdue'})),
    section('定时任务 Periodic (UTC cron)', table([
      {label: '任务 Job', cell: (s) => h('code', {}, s.job)},
      {label: 'Cron', cell: (s) => h('code', {}, s.cron_utc)},
      {label: '上次 Last', cell: (s) => fmtDateTime(s.last_run)},
      {label: '下次 Next', cell: (s) => fmtDateTime(s.next_run)},
    ], jobs.schedules, {empty: '尚无 worker 登记定时任务 (no worker has started)'})),
    section('最近事件 Recent events', table([
      {label: '#', cell: (e) => String(e.id)},
      {label: '任务 Job', cell: (e) => h('code', {}, e.job)},
      {label: '状态 Status', cell: (e) => statusBadge(STATUS, e.status)},
      {label: '时间 At', cell: (e) => fmtDateTime(e.at)},
      {label: '错误 Error', cell: (e) => e.error || ''},
    ], jobs.recent)),
    section(`通知发送记录 Deliveries（近 7 天：${counts || '无'}）`, table([
      {label: '时间 Created', cell: (d) => fmtDateTime(d.created_at)},
      {label: '规则 Rule', cell: (d) => h('code', {}, d.rule)},
      {label: '接收人 Recipient', cell: (d) => d.recipient_name || '—'},
      {label: '渠道 Channel', cell: (d) => d.channel},
      {label: '状态 Status', cell: (d) => [statusBadge(DELIVERY, d.status), d.reason ? ` ${d.reason}` : '']},
      {label: '尝试 Attempts', cell: (d) => String(d.attempts)},
      {label: '服务商应答 Provider', cell: (d) => d.provider_status ? `${d.provider_status} ${d.provider_answer || ''}` : ''},
      {label: '标题 Title', cell: (d) => d.title},
    ], log.items, {rowClass: (d) => d.status === 'failed' ? 'overdue' : null, empty: '暂无通知 (none)'})));
}

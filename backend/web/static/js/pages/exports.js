// An evidence export: progress until done, then the files (downloaded with the bearer token).

import {api, download} from '../api.js';
import {h, mount, fmtDateTime, fmtDate, fmtBytes, badge, table, section, loading} from '../dom.js';
import {problemBox} from '../ui.js';
import {EXPORT_STATUS, FORMATS} from '../labels.js';

const POLL_MS = 1500;

export async function exportPage(view, ctx, exportId) {
  mount(view, loading());
  const downloadStatus = h('div', {'aria-live': 'polite'});

  async function tick() {
    if (!view.isConnected) return; // the user went elsewhere: stop polling
    let job;
    try {
      job = await api.get(`/api/v1/exports/${exportId}`);
    } catch (err) {
      mount(view, problemBox(err, {unavailable: '导出接口尚未提供。'}));
      return;
    }
    render(job);
    if (job.status === 'queued' || job.status === 'running') setTimeout(tick, POLL_MS);
  }

  function render(job) {
    const bar = h('div', {class: 'progress-bar'});
    bar.style.width = `${Math.max(0, Math.min(100, job.progress || 0))}%`;
    const kind = job.status === 'done' ? 'ok' : job.status === 'failed' ? 'bad' : 'info';
    mount(view,
      h('p', {}, h('a', {href: `#/experts/${job.expert_id}`}, '‹ 返回专家统计')),
      section('证明材料导出 Evidence export',
        h('p', {}, badge(`${EXPORT_STATUS[job.status] || job.status} ${job.status}`, kind), ' ',
          `期间 ${fmtDate(job.date_from)} – ${fmtDate(job.date_to)}，创建于 ${fmtDateTime(job.created_at)}`,
          job.finished_at ? `，完成于 ${fmtDateTime(job.finished_at)}` : ''),
        h('div', {class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': job.progress || 0}, bar),
        job.error ? h('div', {class: 'alert error'}, `生成失败：${job.error}`) : null,
        h('dl', {class: 'facts'},
          h('dt', {}, '验证码 Verification code'), h('dd', {}, h('code', {class: 'code'}, job.verification_code)),
          h('dt', {}, '公开验证页 Verify page'), h('dd', {},
            h('a', {href: `/verify/${encodeURIComponent(job.verification_code)}`, target: '_blank', rel: 'noopener'}, job.verify_url || '/verify/'))),
        job.status === 'done' ? table([
          {label: '文件 File', cell: (f) => `${FORMATS[f.format] || f.format}：${f.file_name}`},
          {label: '大小', cell: (f) => fmtBytes(f.size)},
          {label: 'SHA-256', cell: (f) => h('code', {class: 'hash'}, f.sha256)},
          {label: '', cell: (f) => h('button', {type: 'button', class: 'primary', onclick: async () => {
            mount(downloadStatus);
            try {
              await download(`/api/v1/exports/${job.id}/files/${f.format}`, f.file_name);
            } catch (err) {
              mount(downloadStatus, problemBox(err));
            }
          }}, '下载 Download')},
        ], job.files || [], {empty: '没有文件 (no files)'}) : h('p', {class: 'muted'}, '正在生成，页面会自动刷新… Working; this page updates itself.'),
        downloadStatus));
  }

  await tick();
}

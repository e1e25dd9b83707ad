// HR's promotion round (晋升材料批量导出): start one for the home hospital, follow its progress, download the ZIP.

import {api, download} from '../api.js';
import {h, mount, fmtDateTime, fmtDate, fmtBytes, badge, section, loading, isoToday} from '../dom.js';
import {problemBox} from '../ui.js';
import {EXPORT_STATUS} from '../labels.js';

const POLL_MS = 2000;

export async function roundsPage(view, ctx) {
  const status = h('div', {'aria-live': 'polite'});
  const year = Number(isoToday().slice(0, 4)) - 1;
  const from = h('input', {type: 'date', name: 'date_from', required: true, value: `${year}-01-01`});
  const to = h('input', {type: 'date', name: 'date_to', required: true, value: `${year}-12-31`});
  let hospital = null;
  if (ctx.roles.has('admin')) {
    mount(view, loading());
    let items = [];
    try {
      items = (await api.get('/api/v1/admin/institutions', {limit: 200})).items
        .filter((i) => i.kind === 'supporting_hospital');
    } catch (err) {
      mount(status, problemBox(err));
    }
    hospital = h('select', {name: 'institution_id', required: true},
      items.map((i) => h('option', {value: i.id}, i.name)));
  }
  const form = h('form', {class: 'stack', onsubmit: async (event) => {
    event.preventDefault();
    mount(status);
    const body = {date_from: from.value, date_to: to.value};
    if (hospital) body.institution_id = hospital.value;
    try {
      const created = await api.post('/api/v1/exports/rounds', body);
      ctx.navigate(`#/rounds/${created.id}`);
    } catch (err) {
      mount(status, problemBox(err));
    }
  }},
  hospital ? h('label', {}, '派出医院 Home hospital ', hospital) : null,
  h('label', {}, '自 From ', from), h('label', {}, '至 To ', to),
  h('button', {type: 'submit', class: 'primary'}, '开始导出 Start'));
  mount(view, section('晋升材料批量导出 Promotion round',
    h('p', {}, '为本院全部派驻专家生成统计区间内的工作量证明(带数字签名的 PDF 与 Excel),连同索引表打包为一个 ZIP。',
      '每份证明有自己的验证码,可单独核验。'),
    form, status));
}

export async function roundPage(view, ctx, roundId) {
  mount(view, loading());
  const downloadStatus = h('div', {'aria-live': 'polite'});

  async function tick() {
    if (!view.isConnected) return;
    let round;
    try {
      round = await api.get(`/api/v1/exports/rounds/${roundId}`);
    } catch (err) {
      mount(view, problemBox(err));
      return;
    }
    render(round);
    if (round.status === 'queued' || round.status === 'running') setTimeout(tick, POLL_MS);
  }

  function render(round) {
    const bar = h('div', {class: 'progress-bar'});
    bar.style.width = `${Math.max(0, Math.min(100, round.progress || 0))}%`;
    const kind = round.status === 'done' ? 'ok' : round.status === 'failed' ? 'bad' : 'info';
    const name = `晋升材料_${round.date_from}_${round.date_to}.zip`;
    mount(view,
      h('p', {}, h('a', {href: '#/rounds'}, '‹ 新的批量导出')),
      section('晋升材料批量导出 Promotion round',
        h('p', {}, badge(`${EXPORT_STATUS[round.status] || round.status} ${round.status}`, kind), ' ',
          `期间 ${fmtDate(round.date_from)} – ${fmtDate(round.date_to)},创建于 ${fmtDateTime(round.created_at)}`,
          round.finished_at ? `,完成于 ${fmtDateTime(round.finished_at)}` : ''),
        h('div', {class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
          'aria-valuenow': round.progress || 0}, bar),
        h('p', {class: 'round-count'}, `${round.progress || 0}% · 已完成 ${round.experts_done} / ${round.experts_total} 位专家`),
        round.error ? h('div', {class: 'alert error'}, `生成失败:${round.error}`) : null,
        round.status === 'done' ? h('p', {},
          h('button', {type: 'button', class: 'primary', onclick: async () => {
            mount(downloadStatus);
            try {
              await download(round.download_url, name);
            } catch (err) {
              mount(downloadStatus, problemBox(err));
            }
          }}, `下载 ZIP (${fmtBytes(round.size)})`), ' ', h('code', {class: 'hash'}, round.sha256))
          : h('p', {class: 'muted'}, '正在生成,页面会自动刷新… Working; this page updates itself.'),
        downloadStatus));
  }

  await tick();
}

// One entry: its fields, review state, versions and audit events; a supervisor can decide it here.

import {api} from '../api.js';
import {h, mount, fmtDate, fmtDateTime, badge, table, section, loading} from '../dom.js';
import {problemBox, buildForm} from '../ui.js';
import {typeLabel, fieldLabel, fieldText} from '../catalog.js';
import {statusLabel, LOCK_REASONS, CHANGES} from '../labels.js';

function fieldsTable(type, fields) {
  const rows = Object.entries(fields || {});
  return table([
    {label: '字段 Field', cell: ([k]) => fieldLabel(type, k)},
    {label: '内容 Value', cell: ([k, v]) => fieldText(type, k, v)},
  ], rows, {empty: '无字段 (no fields)'});
}

export async function entryPage(view, ctx, entryId) {
  mount(view, loading());
  const [entry, history] = await Promise.allSettled([
    api.get(`/api/v1/entries/${entryId}`),
    api.get(`/api/v1/entries/${entryId}/history`),
  ]);
  const parts = [h('p', {}, h('a', {href: '#/review'}, '‹ 返回审核队列'))];
  let e = null;
  if (entry.status === 'fulfilled') {
    e = entry.value;
    parts.push(section(`${typeLabel(e.activity_type)} · ${fmtDate(e.work_date)}`,
      h('p', {},
        badge(statusLabel(e.status), e.status === 'approved' ? 'ok' : e.status === 'returned' ? 'warn' : 'info'), ' ',
        `版本 v${e.version}`, ' ',
        e.locked ? badge(`锁定：${LOCK_REASONS[e.lock_reason] || e.lock_reason || ''}`, 'warn') : null,
        e.quarantined ? badge('隔离 quarantined', 'bad') : null),
      h('dl', {class: 'facts'},
        h('dt', {}, '提交时间'), h('dd', {}, fmtDateTime(e.submitted_at)),
        h('dt', {}, '审核时间'), h('dd', {}, fmtDateTime(e.reviewed_at)),
        h('dt', {}, '审核意见'), h('dd', {}, e.review_comment || '—'),
        h('dt', {}, '时间'), h('dd', {}, e.start_time || e.end_time ? `${e.start_time || ''}–${e.end_time || ''}` : '—'),
        h('dt', {}, '备注'), h('dd', {}, e.note || '—'),
        h('dt', {}, '附件'), h('dd', {}, `${(e.attachments || []).length} 个` +
          ((e.missing_attachments || []).length ? `（${e.missing_attachments.length} 个尚未上传）` : ''))),
      fieldsTable(e.activity_type, e.fields)));
    if (e.status === 'submitted' && ctx.roles.has('supervisor')) parts.push(decideCard(e, () => entryPage(view, ctx, entryId)));
  } else {
    parts.push(problemBox(entry.reason));
  }
  if (history.status === 'fulfilled') {
    const hist = history.value;
    const type = e ? e.activity_type : null;
    parts.push(section('版本历史 Versions',
      hist.revision_of ? h('p', {}, '本条是对 ', h('a', {href: `#/entries/${hist.revision_of}`}, '已通过条目'), ' 的更正。') : null,
      hist.superseded_by ? h('p', {}, '已被 ', h('a', {href: `#/entries/${hist.superseded_by}`}, '新的更正'), ' 取代。') : null,
      table([
        {label: '版本', cell: (v) => `v${v.version}`},
        {label: '变更', cell: (v) => CHANGES[v.change] ? `${CHANGES[v.change]} ${v.change}` : v.change},
        {label: '时间', cell: (v) => fmtDateTime(v.changed_at)},
        {label: '内容', cell: (v) => h('details', {}, h('summary', {}, '查看'),
          type && v.snapshot.fields ? fieldsTable(type, v.snapshot.fields) : h('pre', {}, JSON.stringify(v.snapshot, null, 2)))},
      ], hist.versions)));
    parts.push(section('审计事件 Audit events', table([
      {label: '#', cell: (ev) => String(ev.seq)},
      {label: '时间', cell: (ev) => fmtDateTime(ev.occurred_at)},
      {label: '动作', cell: (ev) => ev.action},
      {label: '角色', cell: (ev) => ev.actor_role || '—'},
      {label: '说明', cell: (ev) => ev.detail && ev.detail.comment ? ev.detail.comment : h('code', {}, JSON.stringify(ev.detail || {}))},
    ], hist.events)));
  } else {
    parts.push(problemBox(history.reason, {unavailable: '条目历史接口尚未提供。'}));
  }
  mount(view, parts);
}

function decideCard(e, reload) {
  const outcome = h('div');
  const {form} = buildForm([
    {name: 'comment', label: '审核意见 Comment（退回时必填）', type: 'textarea', maxLength: 2000},
  ], {
    submitLabel: '通过 Approve',
    onSubmit: (values) => send('approve', values.comment),
    extraButtons: [h('button', {type: 'button', class: 'danger', onclick: () => {
      const text = form.querySelector('textarea').value.trim();
      if (!text) { mount(outcome, h('div', {class: 'alert warn'}, '退回时必须填写意见。')); return; }
      send('return', text).catch((err) => mount(outcome, problemBox(err)));
    }}, '退回 Return')],
  });
  async function send(action, comment) {
    const d = {entry_id: e.id, version: e.version, action};
    if (comment) d.comment = comment;
    const answer = await api.post('/api/v1/review/decisions', {decisions: [d]});
    const r = answer.results[0];
    if (r && r.outcome === 'applied') { await reload(); return null; }
    mount(outcome, h('div', {class: 'alert warn'}, `未处理：${r ? r.outcome : '?'} ${r && r.detail ? r.detail : ''}`));
    return null;
  }
  return section('审核 Review', form, outcome);
}

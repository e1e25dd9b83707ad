// The audit trail (append-only, hash-chained), filtered by object, page by page.

import {api} from '../api.js';
import {h, mount, append, fmtDateTime, table, loading} from '../dom.js';
import {problemBox} from '../ui.js';

export async function auditPage(view) {
  const filters = {object_type: '', object_id: '', limit: 100};
  const results = h('div');
  const more = h('div');
  let afterSeq = null;

  mount(view, h('h1', {}, '审计日志 Audit trail'),
    h('form', {class: 'filters', onsubmit: (e) => {
      e.preventDefault();
      filters.object_type = e.target.elements.object_type.value.trim();
      filters.object_id = e.target.elements.object_id.value.trim();
      afterSeq = null;
      mount(results);
      load();
    }},
    h('label', {}, '对象类型 Object type ', h('input', {name: 'object_type', placeholder: 'entry / user / deployment …', maxlength: 40})),
    h('label', {}, '对象编号 Object id ', h('input', {name: 'object_id', maxlength: 100})),
    h('button', {type: 'submit'}, '查询 Search')),
    results, more);

  async function load() {
    mount(more, loading());
    let page;
    try {
      page = await api.get('/api/v1/audit', {...filters, after_seq: afterSeq});
    } catch (err) {
      mount(more, problemBox(err, {unavailable: '审计接口尚未提供。'}));
      return;
    }
    append(results, [table([
      {label: '#', cell: (e) => String(e.seq)},
      {label: '时间 When', cell: (e) => fmtDateTime(e.occurred_at)},
      {label: '角色 Role', cell: (e) => e.actor_role || '—'},
      {label: '动作 Action', cell: (e) => e.action},
      {label: '对象 Object', cell: (e) => `${e.object_type} ${e.object_id}`},
      {label: '来源 From', cell: (e) => e.origin || '—'},
      {label: '详情 Detail', cell: (e) => h('details', {}, h('summary', {}, '查看'),
        h('pre', {}, JSON.stringify({...e.detail, request_id: e.request_id, before: e.before_digest, after: e.after_digest, hash: e.hash}, null, 2)))},
    ], page.items, {empty: afterSeq === null ? '没有记录 (no events)' : '没有更多 (no more)'})]);
    afterSeq = page.next_after_seq;
    mount(more, afterSeq !== null && afterSeq !== undefined
      ? h('button', {type: 'button', onclick: load}, '加载更多 More') : h('p', {class: 'muted'}, '已到末尾 end of trail'));
  }
  await load();
}

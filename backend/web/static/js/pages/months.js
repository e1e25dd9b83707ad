// Month closing: lock a hospital's month (entries become locked with reason month_closed), or reopen it.

import {api} from '../api.js';
import {h, mount, fmtDateTime, section} from '../dom.js';
import {problemBox, buildForm, optionsOf} from '../ui.js';

export async function monthsPage(view) {
  let institutions = [];
  const note = h('div');
  try {
    institutions = (await api.get('/api/v1/admin/institutions', {limit: 200})).items;
  } catch (err) {
    mount(note, problemBox(err, {unavailable: '机构列表接口尚未提供。'}));
  }
  const result = h('div', {'aria-live': 'polite'});
  let action = 'close';
  const {form} = buildForm([
    {name: 'institution_id', label: '医院 Hospital', type: 'select', required: true,
      options: optionsOf(institutions, (i) => `${i.name}（${i.code}）`)},
    {name: 'month', label: '月份 Month', type: 'month', required: true, placeholder: 'YYYY-MM'},
    {name: 'reason', label: '原因 Reason（重新开放时必填）', type: 'textarea', maxLength: 2000},
  ], {
    submitLabel: '关账 Close month',
    extraButtons: [h('button', {type: 'submit', class: 'secondary', onclick: () => { action = 'reopen'; }}, '重新开放 Reopen')],
    onSubmit: async (v) => {
      const which = action;
      action = 'close';
      const body = {institution_id: v.institution_id, month: v.month};
      if (v.reason) body.reason = v.reason;
      const out = which === 'reopen'
        ? await api.post('/api/v1/admin/months/reopen', body)
        : await api.post('/api/v1/admin/months/close', body);
      mount(result, section(out.closed ? '已关账 Closed' : '已开放 Open',
        h('dl', {class: 'facts'},
          h('dt', {}, '月份'), h('dd', {}, out.month),
          h('dt', {}, '操作时间'), h('dd', {}, fmtDateTime(out.closed_at)),
          h('dt', {}, '条目'), h('dd', {}, `${out.entries} 条，其中待审核 ${out.pending_entries} 条`),
          h('dt', {}, '原因'), h('dd', {}, out.reason || '—'))));
      return null;
    },
  });
  mount(view, h('h1', {}, '月度关账 Month closing'),
    h('p', {class: 'muted'}, '关账后该院该月的条目被锁定，修改需走更正流程。Closing locks the month\'s entries.'),
    note, section('关账 / 重新开放', form), result);
}

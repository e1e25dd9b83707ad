// Entry cards and the issues panel (conflicts, locks, rejections) shared by the screens.

import {h} from './dom.js';
import {updateEntry} from './local.js';
import {editable, REASON_ZH, stateOf, summary, typeOf} from './model.js';
import {write} from './store.js';

/** One entry: type, summary, state (with the supervisor's comment), and the actions its state allows. */
export function entryCard(cat, rec, actions = {}) {
  const type = typeOf(cat, rec.data.activity_type);
  const st = stateOf(rec);
  const d = rec.data;
  const buttons = [];
  if (editable(rec) && actions.edit) buttons.push(h('button', {type: 'button', class: 'edit', onclick: () => actions.edit(rec)}, '修改'));
  if (editable(rec) && rec.state !== 'pending' && actions.submit) {
    buttons.push(h('button', {type: 'button', class: 'submit', onclick: () => actions.submit(rec)}, d.status === 'returned' ? '重新提交' : '提交'));
  }
  if (editable(rec) && d.status === 'draft' && actions.remove) buttons.push(h('button', {type: 'button', class: 'remove', onclick: () => actions.remove(rec)}, '删除'));
  if (d.status === 'approved' && !d.superseded_by && actions.revise) {
    buttons.push(h('button', {type: 'button', class: 'revise', onclick: () => actions.revise(rec)}, '发起更正'));
  }
  const photos = (d.attachments || []).length;
  return h('article', {class: ['entry', `st-${st.kind}`], dataset: {entryId: rec.id, status: d.status || '', state: rec.state, type: d.activity_type}},
    h('div', {class: 'entry-head'},
      h('strong', {}, type?.label_zh || d.activity_type),
      h('span', {class: ['badge', st.kind]}, st.word)),
    h('p', {class: 'entry-sum'}, summary(cat, rec) || '—'),
    photos ? h('p', {class: 'muted small'}, `照片 ${photos} 张${(d.missing_attachments || []).length ? '（上传中）' : ''}`) : null,
    d.status === 'returned' && d.review_comment ? h('p', {class: 'comment'}, `审核意见：${d.review_comment}`) : null,
    d.locked && d.lock_reason ? h('p', {class: 'muted small'}, `锁定原因：${REASON_ZH[d.lock_reason] || d.lock_reason}`) : null,
    buttons.length ? h('div', {class: 'actions'}, buttons) : null);
}

function changedKeys(sent) {
  const keys = [];
  for (const [k, v] of Object.entries(sent || {})) {
    if (k === 'fields' && v && typeof v === 'object') for (const f of Object.keys(v)) keys.push(`fields.${f}`);
    else if (k !== 'id') keys.push(k);
  }
  return keys;
}

function valueAt(obj, key) {
  if (!obj) return undefined;
  return key.startsWith('fields.') ? obj.fields?.[key.slice(7)] : obj[key];
}

function show(v) {
  if (v === undefined || v === null || v === '') return '（空）';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

async function dismiss(issue) {
  await write(['issues', 'records'], async (tx) => {
    await tx.put('issues', {...issue, dismissed: true});
    // Seen: the entry shows its review state again (a refused new entry stays marked until it is fixed).
    const rec = await tx.get('records', issue.record_id);
    if (rec && rec.server_data && ['conflict', 'locked', 'rejected'].includes(rec.state)) {
      await tx.put('records', {...rec, state: 'synced'});
    }
  });
}

/** What the server answered and the expert must see: conflicts with both versions, locks and refusals. */
export function issuesPanel(cat, list, {onChange}) {
  const open = list.filter((i) => !i.dismissed);
  if (!open.length) return null;
  return h('section', {class: 'issues card'}, h('h2', {}, `需要处理（${open.length}）`), open.map((issue) => {
    const reason = REASON_ZH[issue.reason] || issue.reason || '';
    if (issue.outcome === 'conflict') {
      const keys = changedKeys(issue.changes || issue.sent).filter((k) => show(valueAt(issue.sent, k)) !== show(valueAt(issue.server_copy, k)));
      const conflicted = new Set((issue.errors || []).map((e) => e.field));
      const label = (k) => {
        const spec = typeOf(cat, issue.server_copy?.activity_type)?.fields.find((f) => `fields.${f.name}` === k);
        return spec ? spec.label_zh : k;
      };
      return h('div', {class: 'issue conflict', dataset: {recordId: issue.record_id, seq: String(issue.seq)}},
        h('p', {}, h('strong', {}, '冲突：'), reason),
        h('table', {class: 'versions'},
          h('thead', {}, h('tr', {}, h('th', {}, '内容'), h('th', {}, '服务器版本'), h('th', {}, '我的版本'))),
          h('tbody', {}, keys.map((k) => h('tr', {class: conflicted.has(k) ? 'hot' : null},
            h('td', {}, label(k)), h('td', {class: 'theirs'}, show(valueAt(issue.server_copy, k))),
            h('td', {class: 'mine'}, show(valueAt(issue.sent, k))))))),
        h('div', {class: 'actions'},
          h('button', {type: 'button', class: 'keep-mine primary', onclick: async () => {
            // Only what this phone changed goes again, now on the server's version: keys only the server
            // changed keep the server's values.
            const {id: _ignored, ...changes} = issue.changes || issue.sent || {};
            await updateEntry(issue.record_id, changes); // based on the server's version now held locally
            await dismiss(issue);
            onChange(true);
          }}, '保留我的版本'),
          h('button', {type: 'button', class: 'keep-theirs', onclick: async () => { await dismiss(issue); onChange(false); }},
            '采用服务器版本')));
    }
    const word = issue.outcome === 'locked' ? '已锁定' : '被拒绝';
    return h('div', {class: ['issue', issue.outcome], dataset: {recordId: issue.record_id, seq: String(issue.seq)}},
      h('p', {}, h('strong', {}, `${word}：`), reason),
      (issue.errors || []).length ? h('ul', {}, issue.errors.map((e) => h('li', {}, `${e.field}：${e.message}`))) : null,
      h('button', {type: 'button', class: 'ok', onclick: async () => { await dismiss(issue); onChange(false); }}, '知道了'));
  }));
}

// What the screens read: the cached catalogue and profile, the current deployment, entries, labels.

import {localDate} from './dom.js';
import {all, getOne} from './store.js';

export const STATUS_ZH = {draft: '草稿', submitted: '待审', approved: '已通过', returned: '已退回'};
export const STATE_ZH = {pending: '待同步', conflict: '有冲突', locked: '已锁定', rejected: '被拒绝'};
export const REASON_ZH = {
  approved: '已审核通过，修改请发起更正', under_review: '正在审核中', month_closed: '该月已关账',
  outside_editable_window: '超出本次派驻的可填报期', id_conflict: '同一编号在服务器上是另一条记录',
  edit_conflict: '服务器上同时修改了相同的内容', stale_version: '服务器上的版本已更新', unknown_base: '服务器找不到修改所依据的版本',
  wrong_state: '记录状态已变化', concurrent_write: '服务器上正同时修改', invalid: '内容不符合规则', not_found: '服务器上没有这条记录',
  quarantined: '账号已停用，记录已隔离',
};
// The catalogue's attendance statuses, in the order the expert taps them.
export const ATTENDANCE = [['present', '在岗'], ['travel', '出差'], ['leave', '请假'], ['off', '休息']];

export async function catalog() { return (await getOne('cache', 'catalog'))?.value || null; }
export async function me() { return (await getOne('cache', 'me'))?.value || null; }

export function typeOf(cat, key) { return cat?.activity_types.find((t) => t.key === key) || null; }

/** The deployment work is logged against today: the active one whose window holds the date. */
export async function currentDeployment(date = localDate()) {
  const deps = await all('deployments');
  const fromMe = (await me())?.deployments || [];
  const pool = deps.length ? deps : fromMe;
  const usable = pool.filter((d) => d.status === 'active' || d.status === undefined);
  const inWindow = usable.filter((d) => (!d.editable_from || d.editable_from <= date)
                                        && (!d.editable_until || d.editable_until >= date));
  const pick = inWindow[0] || usable[0] || pool[0] || null;
  if (!pick) return null;
  const named = fromMe.find((d) => d.id === pick.id);
  return {...pick, recipient_name: pick.recipient_name || named?.recipient_name || ''};
}

/** Live (not deleted) entries, sorted by date then creation. */
export async function entries() {
  const recs = await all('records');
  return recs.filter((r) => r.data && !r.data.deleted)
    .sort((a, b) => (a.data.work_date || '').localeCompare(b.data.work_date || '') || (a.data.created_at || '').localeCompare(b.data.created_at || ''));
}

/** The state word shown on an entry: local sync state first, then the review status. */
export function stateOf(rec) {
  if (rec.state === 'conflict' || rec.state === 'rejected') return {word: STATE_ZH[rec.state], kind: 'bad'};
  if (rec.data.locked) return {word: '已锁定', kind: 'locked'};
  if (rec.state === 'pending') return {word: `${STATUS_ZH[rec.data.status] || ''}·待同步`, kind: 'pending'};
  const kind = {approved: 'ok', returned: 'bad', submitted: 'info'}[rec.data.status] || '';
  return {word: STATUS_ZH[rec.data.status] || rec.data.status, kind};
}

export function editable(rec) {
  return !rec.data.locked && ['draft', 'returned'].includes(rec.data.status);
}

/** A one-line summary: the first few filled fields with their labels. */
export function summary(cat, rec) {
  const type = typeOf(cat, rec.data.activity_type);
  if (!type) return rec.data.activity_type;
  const parts = [];
  for (const spec of type.fields) {
    let v = rec.data.fields?.[spec.name];
    if (v === undefined || v === null || v === '') continue;
    if (spec.choices) v = [].concat(v).map((x) => spec.choices.find((c) => c.value === x)?.label_zh || x).join('、');
    if (typeof v === 'object') v = v.masked || '';
    if (v === true) v = '是';
    parts.push(spec.type === 'enum' ? String(v) : `${spec.label_zh} ${v}`);
    if (parts.length >= 3) break;
  }
  return parts.join(' · ');
}

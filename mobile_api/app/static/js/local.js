// Local edits that work offline, and how the user's view of a record is rebuilt from the server's copy.
// A port of the reference client's rules (sync/client.py, sync/client_store.py), not of its code.

import {write} from './store.js';

/** What the user sees after a queued mutation, before the server answers it. */
export function applyLocal(data, item) {
  if (item.kind === 'create') return {...item.data, status: 'draft', deleted: false};
  if (!data) return null;
  if (item.kind === 'update') {
    const merged = {...data, ...item.data};
    if (item.data.fields && data.fields) merged.fields = {...data.fields, ...item.data.fields};
    return merged;
  }
  if (item.kind === 'delete') return {...data, deleted: true};
  return {...data, status: 'submitted'}; // submit
}

async function pendingFor(tx, recordId) {
  const rows = await tx.byIndex('outbox', 'record_id', recordId);
  return rows.filter((r) => !r.acked).sort((a, b) => a.seq - b.seq);
}

/** Whether the server acknowledged a deletion of this record (then nothing may bring it back). */
async function deletedOnServer(tx, recordId) {
  const rows = await tx.byIndex('outbox', 'record_id', recordId);
  return rows.some((r) => r.acked && r.kind === 'delete' && ['applied', 'duplicate'].includes(r.outcome));
}

/** Number and store a mutation inside the transaction that changes the record. */
async function enqueue(tx, kind, recordId, baseVersion, data, changes = null) {
  const seq = Number((await tx.meta('last_seq')) || 0) + 1;
  await tx.setMeta('last_seq', seq);
  const item = {seq, kind, record_id: recordId, base_version: baseVersion, data, queued_at: new Date().toISOString(),
                acked: false, changes}; // `changes`: what the user changed (local only, never sent)
  await tx.put('outbox', item);
  return item;
}

const EDIT_STORES = ['meta', 'records', 'outbox'];

/** Save a new entry with a phone-chosen UUID (its id on the server too) and queue it. */
export async function createEntry(content) {
  const id = content.id || crypto.randomUUID();
  const data = {...content, id};
  return write(EDIT_STORES, async (tx) => {
    const item = await enqueue(tx, 'create', id, null, data);
    await tx.put('records', {id, data: applyLocal(null, item), server_data: null, server_version: null,
                             status: 'draft', state: 'pending'});
    return id;
  });
}

/** Queue a change of some keys; `fields` travels whole, built from the local copy (EntryPatch replaces it). */
export async function updateEntry(id, changes) {
  return change(id, 'update', changes);
}
export const deleteEntry = (id) => change(id, 'delete', {});
export const submitEntry = (id) => change(id, 'submit', {});

async function change(id, kind, changes) {
  return write(EDIT_STORES, async (tx) => {
    const rec = await tx.get('records', id);
    if (!rec) throw new Error(`no local entry ${id}`);
    let data = changes;
    if (changes.fields) data = {...changes, fields: {...(rec.data.fields || {}), ...changes.fields}};
    // base_version: the server's last confirmed version plus one per own change still queued ahead of it.
    const queued = (await pendingFor(tx, id)).filter((r) => r.kind !== 'create').length;
    const base = (rec.server_version || 1) + queued;
    const item = await enqueue(tx, kind, id, base, data, changes);
    const view = applyLocal(rec.data, item) || rec.data;
    await tx.put('records', {...rec, data: view, status: view.status, state: 'pending'});
    return item.seq;
  });
}

/**
 * Rebuild what the user sees: the server's copy with our still-queued changes replayed on top, so the
 * server's truth (approvals, returns, edits from elsewhere) shows without losing unpushed work.
 */
export async function rebase(tx, id, serverCopy, {state = null, gone = false} = {}) {
  if (await deletedOnServer(tx, id)) {
    await tx.del('records', id); // nothing brings back a record whose deletion the server acknowledged
    return;
  }
  const rec = await tx.get('records', id);
  let base = null;
  if (!gone) base = serverCopy ?? (rec ? rec.server_data || rec.data : null);
  let view = base;
  const queued = await pendingFor(tx, id);
  for (const item of queued) view = applyLocal(view, item);
  if (!view || (!queued.length && view.deleted)) {
    if (rec && !rec.server_data && state === 'rejected' && !gone) {
      // A refused create: keep what the user typed so they can correct and send it again.
      await tx.put('records', {...rec, state: 'rejected'});
    } else {
      await tx.del('records', id);
    }
    return;
  }
  const version = serverCopy ? serverCopy.version : rec?.server_version ?? null;
  await tx.put('records', {
    id, data: view, status: view.status, state: queued.length ? 'pending' : (state || 'synced'),
    server_version: version, server_data: serverCopy ?? rec?.server_data ?? null,
  });
}

/** An applied mutation: predict the server's copy (the next pull brings the real one). */
export async function confirm(tx, item, version) {
  // An applied delete drops the record even while older mutations of it are unanswered (their stored
  // answers come later and change nothing): the server holds a tombstone a first sync never sends.
  if (item.kind === 'delete' || await deletedOnServer(tx, item.record_id)) {
    await tx.del('records', item.record_id);
    return;
  }
  const rec = await tx.get('records', item.record_id);
  const queued = await pendingFor(tx, item.record_id);
  if (!rec) return;
  let predicted = null;
  if (item.kind === 'create') predicted = applyLocal(null, item);
  else if (rec.server_data) predicted = applyLocal(rec.server_data, item);
  if (predicted) predicted = {...predicted, version};
  await tx.put('records', {...rec, server_version: version || rec.server_version,
                           state: queued.length ? 'pending' : 'synced', server_data: predicted || rec.server_data});
}

/** Mark a mutation answered (kept as the device's history; never sent again). */
export async function ack(tx, item, outcome, result) {
  await tx.put('outbox', {...item, acked: true, outcome, result});
}

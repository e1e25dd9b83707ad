// The phone's local database (IndexedDB): records, the numbered outbox, issues, photos, the cursor, tokens.
//
// The rules (ported from the reference client, sync/client_store.py):
// - a mutation gets its number (`seq`, strictly increasing, never reused) and is written to the outbox in
//   the same IndexedDB transaction as the change the user sees;
// - an outbox row is never edited once written, except to mark it answered: a resend carries exactly the
//   same mutations;
// - the pull cursor is saved in the same transaction as the page it follows.

const DB_NAME = 'fieldlog-phone';
const DB_VERSION = 1;
export const STORES = ['meta', 'records', 'outbox', 'issues', 'photos', 'deployments', 'cache'];

let opened = null;

export function openDb() {
  if (opened) return opened;
  opened = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('meta', {keyPath: 'key'});
      db.createObjectStore('records', {keyPath: 'id'});
      const outbox = db.createObjectStore('outbox', {keyPath: 'seq'});
      outbox.createIndex('record_id', 'record_id');
      db.createObjectStore('issues', {keyPath: 'seq'});
      db.createObjectStore('photos', {keyPath: 'sha256'});
      db.createObjectStore('deployments', {keyPath: 'id'});
      db.createObjectStore('cache', {keyPath: 'key'});
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opened;
}

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** A transaction handle: small promise helpers over the stores it covers. */
class Tx {
  constructor(tx) { this.tx = tx; }
  get(store, key) { return done(this.tx.objectStore(store).get(key)); }
  all(store) { return done(this.tx.objectStore(store).getAll()); }
  put(store, value) { return done(this.tx.objectStore(store).put(value)); }
  del(store, key) { return done(this.tx.objectStore(store).delete(key)); }
  clear(store) { return done(this.tx.objectStore(store).clear()); }
  byIndex(store, index, key) { return done(this.tx.objectStore(store).index(index).getAll(key)); }
  async meta(key) { return (await this.get('meta', key))?.value ?? null; }
  setMeta(key, value) { return this.put('meta', {key, value}); }
}

/**
 * Run `fn(tx)` in one IndexedDB transaction; resolves with its result once the transaction committed.
 * `fn` may await only requests of this transaction (no fetch), or the browser commits it early.
 */
export async function transact(stores, mode, fn) {
  const db = await openDb();
  const raw = db.transaction(stores, mode);
  const tx = new Tx(raw);
  const committed = new Promise((resolve, reject) => {
    raw.oncomplete = () => resolve();
    raw.onabort = () => reject(raw.error || new Error('transaction aborted'));
    raw.onerror = () => reject(raw.error);
  });
  let result;
  try {
    result = await fn(tx);
  } catch (err) {
    try { raw.abort(); } catch { /* already finished */ }
    committed.catch(() => {});
    throw err;
  }
  await committed;
  return result;
}

export const read = (stores, fn) => transact(stores, 'readonly', fn);
export const write = (stores, fn) => transact(stores, 'readwrite', fn);

export async function getMeta(key) { return read(['meta'], (tx) => tx.meta(key)); }
export async function setMeta(key, value) { return write(['meta'], (tx) => tx.setMeta(key, value)); }
export async function all(store) { return read([store], (tx) => tx.all(store)); }
export async function getOne(store, key) { return read([store], (tx) => tx.get(store, key)); }
export async function putOne(store, value) { return write([store], (tx) => tx.put(store, value)); }

/** The device id: made once, kept across sign-outs (the server ties the mutation numbers to it). */
export async function deviceId() {
  return write(['meta'], async (tx) => {
    let id = await tx.meta('device_id');
    if (!id) {
      id = `phone-${crypto.randomUUID()}`;
      await tx.setMeta('device_id', id);
    }
    return id;
  });
}

/** Queued mutations not yet answered, oldest first. */
export async function pending(limit = Infinity) {
  const rows = await all('outbox');
  return rows.filter((r) => !r.acked).sort((a, b) => a.seq - b.seq).slice(0, limit);
}

export async function pendingStats() {
  const rows = await pending();
  const oldest = rows.length ? rows.map((r) => r.queued_at).sort()[0] : null;
  return {count: rows.length, oldest};
}

/**
 * Forget everything the server told us before a pull from scratch (a first sync or a reset). Kept: records
 * with queued changes, and refused new entries (what the expert typed, which the server never stored).
 * Everything else comes back from the pull if, and only if, the server still has it.
 */
export async function wipeServerData() {
  await write(['records', 'outbox', 'deployments', 'meta'], async (tx) => {
    const queued = new Set((await tx.all('outbox')).filter((r) => !r.acked).map((r) => r.record_id));
    for (const rec of await tx.all('records')) {
      const refusedNew = rec.state === 'rejected' && rec.server_version == null;
      if (!queued.has(rec.id) && !refusedNew) await tx.del('records', rec.id);
    }
    await tx.clear('deployments');
    await tx.setMeta('cursor', null);
  });
}

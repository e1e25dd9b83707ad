// fieldlog-sync/1 from the phone: push the outbox (oldest first, in batches), then pull pages from the cursor.
// Mirrors sync/client_push.py and sync/client_pull.py; docs/sync-protocol.md is the contract.

import {ack, confirm, rebase} from './local.js';
import {APP_VERSION, call, EnvelopeError, gzipJson, ProblemError} from './net.js';
import {deviceId, getMeta, pending, pendingStats, read, wipeServerData, write} from './store.js';

const ANSWERED = ['applied', 'duplicate', 'conflict', 'locked', 'rejected'];
const SUCCESS = ['applied', 'duplicate'];
const PULL_LIMIT = 200;
const MAX_RESETS = 2;

let config = null;
async function loadConfig() {
  if (!config) config = await call('GET', '/api/v1/sync/config');
  return config;
}

/** Push every queued mutation; returns how many were answered. */
export async function pushOutbox() {
  const cfg = await loadConfig();
  const maxBatch = Math.max(Number(cfg.max_batch) || 100, 1);
  const maxBody = Number(cfg.max_body_bytes) || 1024 * 1024;
  let answered = 0;
  let stalls = 0;
  for (;;) {
    const batch = await pending(maxBatch);
    if (!batch.length) return answered;
    const reply = await sendBatch(batch, maxBody);
    const settled = (reply.results || []).filter((r) => ANSWERED.includes(r.outcome)).length;
    answered += settled;
    if (settled) { stalls = 0; continue; }
    // A gap names the first number the server misses; our next batch starts at the oldest unanswered one.
    if (reply.gap && reply.expected_seq != null && reply.expected_seq < batch[0].seq) {
      throw new ProblemError(409, {detail: `服务器要求从第 ${reply.expected_seq} 条重发，本机已收到其应答：设备记录不一致`});
    }
    stalls += 1;
    if (stalls >= 3) throw new ProblemError(409, {detail: '推送没有进展'});
  }
}

async function bodyOf(items, requestId) {
  const {count, oldest} = await pendingStats();
  return gzipJson({
    request_id: requestId, device_id: await deviceId(), app_version: APP_VERSION, schema_version: 1,
    device_time: new Date().toISOString(), pending_count: count, oldest_pending_at: oldest,
    mutations: items.map((i) => ({seq: i.seq, kind: i.kind, record_id: i.record_id, base_version: i.base_version,
                                  data: i.data, queued_at: i.queued_at})),
  });
}

/** Send these mutations in one request (fewer if the body would pass the limit) and settle the answer. */
async function sendBatch(items, maxBody) {
  const requestId = crypto.randomUUID().replaceAll('-', '');
  let body = await bodyOf(items, requestId);
  while (body.bytes.length > maxBody && items.length > 1) {
    items = items.slice(0, Math.floor(items.length / 2));
    body = await bodyOf(items, requestId);
  }
  const headers = {'Content-Type': 'application/json'};
  if (body.gzip) headers['Content-Encoding'] = 'gzip';
  // The same bytes go again after a refreshed token (net.call), so the batch is answered exactly once.
  const reply = await call('POST', '/api/v1/sync/push', {body: body.bytes, headers, envelope: requestId});
  if (reply.device_id != null && reply.device_id !== await deviceId()) throw new EnvelopeError('推送应答属于另一台设备');
  await settle(items, reply);
  return reply;
}

/** Apply every per-mutation result in one local transaction (all or nothing, like the reply). */
async function settle(items, reply) {
  const bySeq = new Map(items.map((i) => [i.seq, i]));
  await write(['meta', 'records', 'outbox', 'issues'], async (tx) => {
    for (const result of reply.results || []) {
      const item = bySeq.get(result.seq);
      if (!item || !ANSWERED.includes(result.outcome)) continue; // unknown outcome (newer server): stays queued
      if (String(result.record_id) !== item.record_id) throw new EnvelopeError(`第 ${item.seq} 条的应答指向另一条记录`);
      await ack(tx, item, result.outcome, result);
      if (SUCCESS.includes(result.outcome)) {
        await confirm(tx, item, result.version ?? null);
        continue;
      }
      await tx.put('issues', {seq: item.seq, record_id: item.record_id, outcome: result.outcome, kind: item.kind,
                              reason: result.reason || null, errors: result.errors || [],
                              server_copy: result.server_copy || null, sent: item.data, changes: item.changes || null, at: new Date().toISOString()});
      await rebase(tx, item.record_id, result.server_copy || null, {state: result.outcome});
    }
    await tx.setMeta('acknowledged_seq', reply.acknowledged_seq);
  });
}

/** Pull until the server has nothing more; a reset pushes first, then rebuilds from no cursor. */
export async function pullAll() {
  let applied = 0;
  let resets = 0;
  for (;;) {
    const cursor = await getMeta('cursor');
    const query = new URLSearchParams({limit: String(PULL_LIMIT)});
    if (cursor) query.set('cursor', cursor);
    // A first sync is a snapshot without tombstones: records known only from push answers before it (a create
    // confirmed, then deleted elsewhere) must not outlive it.
    else await wipeServerData();
    const requestId = crypto.randomUUID().replaceAll('-', '');
    const page = await call('GET', `/api/v1/sync/pull?${query}`, {envelope: requestId});
    if (page.reset) {
      resets += 1;
      if (resets > MAX_RESETS) throw new ProblemError(409, {detail: '服务器一直要求重置同步'});
      await pushOutbox(); // the outbox holds the only copy of unsynced work
      await wipeServerData();
      continue;
    }
    const changes = page.changes || [];
    await write(['meta', 'records', 'outbox', 'deployments', 'issues'], async (tx) => {
      for (const change of changes) await applyChange(tx, change);
      await tx.setMeta('cursor', page.cursor);
      await tx.setMeta('catalog_etag', page.catalog_etag);
    });
    applied += changes.length;
    if (!page.has_more) return applied;
  }
}

async function applyChange(tx, change) {
  const {kind, id, data} = change;
  const gone = change.op === 'delete' || Boolean(data && data.deleted);
  if (kind === 'entry') {
    await rebase(tx, String(id), gone ? null : data, {gone});
  } else if (kind === 'deployment') {
    if (gone) await tx.del('deployments', String(id));
    else await tx.put('deployments', {...data, id: String(id)});
  } else if (kind === 'mutation' && !gone && data) {
    // A refused mutation the server kept (maybe sent from this phone before a reinstall): show it once.
    const seq = Number(String(id).split(':').pop());
    if (String(id).startsWith(`${await tx.meta('device_id')}:`) && !(await tx.get('issues', seq))) {
      const payload = data.payload || {};
      await tx.put('issues', {seq, record_id: String(payload.record_id || ''), outcome: 'rejected', kind: payload.kind,
                              reason: data.result?.reason || null, errors: data.result?.errors || [],
                              server_copy: null, sent: payload.data || {}, at: new Date().toISOString(), seen: true});
    }
  }
}

/** Issues the expert must see (conflicts, locks, rejections), newest first. */
export async function issues() {
  const rows = await read(['issues'], (tx) => tx.all('issues'));
  return rows.sort((a, b) => b.seq - a.seq);
}

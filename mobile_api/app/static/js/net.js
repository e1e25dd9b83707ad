// Talking to fieldlog: bearer tokens, the quiet refresh, the envelope check, and the kinds of failure.

import {deviceId, getMeta, write} from './store.js';

export const PROTOCOL = 'fieldlog-sync/1';
export const APP_VERSION = 'phone-app/1.0';

/** No answer at all (offline, timeout, dropped reply): nothing changes locally, try again later. */
export class TransportError extends Error {}
/** A 200 that is not fieldlog's answer (a Wi-Fi login page, a proxy page). */
export class EnvelopeError extends Error {}
/** The server asks to wait (429/503 with Retry-After, in seconds). */
export class RetryLater extends Error {
  constructor(message, seconds) { super(message); this.seconds = seconds; }
}
/** The refresh token no longer works: the expert must sign in again (the outbox is kept). */
export class AuthRequired extends Error {}
/** A definite refusal (4xx) with its RFC 9457 problem document. */
export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
  get fieldErrors() { return Array.isArray(this.problem.errors) ? this.problem.errors : []; }
}

async function problemOf(res) {
  try { return await res.json(); } catch { return {status: res.status, detail: `HTTP ${res.status}`}; }
}

function retryAfter(res) {
  const n = Number(res.headers.get('Retry-After'));
  return Number.isFinite(n) && n > 0 ? Math.min(n, 300) : 5;
}

async function send(method, path, {headers = {}, body, timeoutMs = 30000} = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await fetch(path, {method, headers, body, signal: controller.signal, cache: 'no-store',
                              credentials: 'omit'});
  } catch (err) {
    throw new TransportError(navigator.onLine ? `网络中断 (${err.message})` : '没有网络');
  } finally {
    clearTimeout(timer);
  }
}

async function tokens() {
  return {access: await getMeta('access_token'), refresh: await getMeta('refresh_token')};
}

async function saveTokens(pair) {
  if (!pair || typeof pair.access_token !== 'string' || typeof pair.refresh_token !== 'string') {
    throw new EnvelopeError('登录应答不是 fieldlog 的应答');
  }
  await write(['meta'], async (tx) => {
    await tx.setMeta('access_token', pair.access_token);
    await tx.setMeta('refresh_token', pair.refresh_token);
  });
}

export async function login(username, password) {
  const device = await deviceId();
  const res = await send('POST', '/api/v1/auth/login', {
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({username, password, device_id: device, app_version: APP_VERSION}),
  });
  if (res.status === 429) throw new RetryLater('登录尝试过多', retryAfter(res));
  if (!res.ok) throw new ProblemError(res.status, await problemOf(res));
  let pair;
  try { pair = await res.json(); } catch { throw new EnvelopeError('登录应答不是 fieldlog 的应答'); }
  await saveTokens(pair);
  await write(['meta'], (tx) => tx.setMeta('username', username));
}

let refreshing = null;

/** Rotate the refresh token once, shared by every caller waiting on it. */
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const {refresh: token} = await tokens();
      if (!token) throw new AuthRequired('请重新登录');
      const res = await send('POST', '/api/v1/auth/refresh', {
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({refresh_token: token, device_id: await deviceId()}),
      });
      if (res.status === 401 || res.status === 422) {
        await write(['meta'], async (tx) => { await tx.setMeta('access_token', null); await tx.setMeta('refresh_token', null); });
        throw new AuthRequired('登录已失效，请重新登录（未发送的记录会保留）');
      }
      if (res.status === 429 || res.status === 503) throw new RetryLater('服务器繁忙', retryAfter(res));
      if (!res.ok) throw new TransportError(`刷新登录失败 (HTTP ${res.status})`);
      let pair;
      try { pair = await res.json(); } catch { throw new EnvelopeError('刷新应答不是 fieldlog 的应答'); }
      await saveTokens(pair);
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/**
 * One API call with the bearer token; a 401 refreshes and sends the very same bytes once more.
 * `envelope`: the request id a sync answer must echo (with protocol fieldlog-sync/1).
 * Returns the parsed JSON (or null for 204 / non-JSON with `raw`).
 */
export async function call(method, path, {body, headers = {}, envelope = null, raw = false, timeoutMs} = {}) {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const {access} = await tokens();
    if (!access) {
      if (attempt === 0) { await refresh(); continue; }
      throw new AuthRequired('请登录');
    }
    const all = {...headers, Authorization: `Bearer ${access}`};
    if (envelope) all['X-Request-Id'] = envelope;
    const res = await send(method, path, {headers: all, body, timeoutMs});
    if (res.status === 401 && attempt === 0) {
      await refresh();
      continue;
    }
    return answer(res, envelope, raw);
  }
  throw new AuthRequired('服务器拒绝了刚刷新的登录');
}

async function answer(res, envelope, raw) {
  if (res.status === 401) throw new AuthRequired('请重新登录');
  if (res.status === 429 || res.status === 503) throw new RetryLater(`服务器繁忙 (HTTP ${res.status})`, retryAfter(res));
  if (res.status >= 500) throw new TransportError(`服务器错误 (HTTP ${res.status})`);
  if (res.status === 304) return {notModified: true};
  if (!res.ok) throw new ProblemError(res.status, await problemOf(res));
  if (raw) return res;
  if (res.status === 204) return null;
  let value;
  try { value = await res.json(); } catch { throw new EnvelopeError('应答不是 JSON（可能是 Wi-Fi 登录页）'); }
  if (envelope) {
    if (!value || value.protocol !== PROTOCOL) throw new EnvelopeError('应答没有 fieldlog 同步协议信封');
    if (value.request_id !== envelope) throw new EnvelopeError('应答没有回显本次请求号');
  }
  return value;
}

/** A body as gzip bytes when the browser can compress (Content-Length is set from the bytes). */
export async function gzipJson(value) {
  const text = new TextEncoder().encode(JSON.stringify(value));
  if (typeof CompressionStream === 'undefined') return {bytes: text, gzip: false};
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return {bytes: new Uint8Array(await new Response(stream).arrayBuffer()), gzip: true};
}

// The JSON API client: bearer tokens, one shared refresh on `token_expired`, problem+json errors.

const SESSION_KEY = 'fieldlog.session';
const DEVICES_KEY = 'fieldlog.web_devices';
export const APP_VERSION = 'web-console/1.0';

/** An answer that was not 2xx; `problem` is the RFC 9457 document (or a stand-in built from the status). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  get reason() { return this.problem.reason || null; }
  get fieldErrors() { return Array.isArray(this.problem.errors) ? this.problem.errors : []; }
  /** The route is not on this server (yet): 404 with no domain detail, or 405. */
  get endpointMissing() {
    // Litestar's own answer for an unknown route says exactly 'Not Found'; domain 404s say what was not found.
    return this.status === 405 || (this.status === 404 && this.problem.detail === 'Not Found');
  }
}

let session = readSession();
let refreshing = null;
const listeners = new Set();

function readSession() {
  try { return JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null'); } catch { return null; }
}

function saveSession(value) {
  session = value;
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
}

export function onSessionEnd(fn) { listeners.add(fn); }
export function hasSession() { return Boolean(session && session.access_token); }

/**
 * The browser's device id for this user, made once and kept in localStorage. The server registers a
 * device to one user, so a browser shared by two officers keeps one id per user name.
 */
export function deviceIdFor(username) {
  let devices = {};
  try { devices = JSON.parse(localStorage.getItem(DEVICES_KEY) || '{}') || {}; } catch { devices = {}; }
  const key = username.trim().toLowerCase();
  if (!devices[key]) {
    devices[key] = `web-${crypto.randomUUID()}`;
    localStorage.setItem(DEVICES_KEY, JSON.stringify(devices));
  }
  return devices[key];
}

async function readProblem(res) {
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) {
    try { return await res.json(); } catch { /* fall through */ }
  }
  return {status: res.status, title: res.statusText || `HTTP ${res.status}`, detail: res.statusText || `HTTP ${res.status}`};
}

function endSession(problem) {
  saveSession(null);
  for (const fn of listeners) fn(problem);
}

async function doRefresh() {
  const res = await fetch('/api/v1/auth/refresh', {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Accept: 'application/json'},
    body: JSON.stringify({refresh_token: session.refresh_token, device_id: session.device_id}),
  });
  if (!res.ok) {
    const problem = await readProblem(res);
    endSession(problem);
    throw new ApiError(res.status, problem);
  }
  const pair = await res.json();
  saveSession({...session, access_token: pair.access_token, refresh_token: pair.refresh_token});
}

// Two requests that expire together must share one refresh: presenting a refresh token twice
// revokes the whole session on the server.
function refreshOnce() {
  if (!refreshing) refreshing = doRefresh().finally(() => { refreshing = null; });
  return refreshing;
}

function urlOf(path, query) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  return url.pathname + url.search;
}

/** One API call; answers the parsed JSON (null for 204), or the Response itself when `raw`. */
export async function request(method, path, {body, query, raw = false, retried = false} = {}) {
  const headers = {Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (session && session.access_token) headers.Authorization = `Bearer ${session.access_token}`;
  let res;
  try {
    res = await fetch(urlOf(path, query), {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (err) {
    throw new ApiError(0, {title: '网络错误 Network error', detail: `无法连接服务器: ${err.message}`});
  }
  if (!res.ok) {
    const problem = await readProblem(res);
    if (res.status === 401 && session) {
      if (problem.reason === 'token_expired' && !retried) {
        await refreshOnce();
        return request(method, path, {body, query, raw, retried: true});
      }
      endSession(problem);
    }
    throw new ApiError(res.status, problem);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const api = {
  get: (path, query) => request('GET', path, {query}),
  post: (path, body) => request('POST', path, {body: body ?? {}}),
  patch: (path, body) => request('PATCH', path, {body}),
  put: (path, body) => request('PUT', path, {body}),
  del: (path) => request('DELETE', path),
  raw: (path) => request('GET', path, {raw: true}),
};

export async function login(username, password) {
  const device_id = deviceIdFor(username);
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Accept: 'application/json'},
    body: JSON.stringify({username, password, device_id, app_version: APP_VERSION}),
  });
  if (!res.ok) throw new ApiError(res.status, await readProblem(res));
  const pair = await res.json();
  saveSession({access_token: pair.access_token, refresh_token: pair.refresh_token, device_id, username});
  return pair;
}

export async function logout() {
  try {
    if (hasSession()) await request('POST', '/api/v1/auth/logout');
  } catch { /* signing out locally is what matters */ }
  saveSession(null);
}

/** Fetch a protected file with the bearer token and hand it to the browser as a download. */
export async function download(path, fileName) {
  const res = await api.raw(path);
  const blob = await res.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 30000);
}

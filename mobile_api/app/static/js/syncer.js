// When sync runs, and what the expert sees of it: pending count, last success, any failure in words.
// Runs on open, when the network comes back, when the page becomes visible, every minute while open and on
// "立即同步". No Background Sync API (absent on iOS and in many WebViews).

import {AuthRequired, call, EnvelopeError, ProblemError, RetryLater, TransportError} from './net.js';
import {photoStats, uploadPhotos} from './photos.js';
import {getMeta, getOne, pendingStats, putOne, setMeta} from './store.js';
import {pullAll, pushOutbox} from './sync.js';

const TIMER_MS = 60_000;

export const state = {running: false, lastSuccess: null, error: null, pending: 0, photosWaiting: 0,
                      needsLogin: false, retryAt: null, photoError: null, runs: 0};
const listeners = new Set();
let again = false;
let retryTimer = null;

export function onChange(fn) { listeners.add(fn); }
function emit() { for (const fn of listeners) fn(state); }

export async function refreshCounts() {
  state.pending = (await pendingStats()).count;
  state.photosWaiting = (await photoStats()).waiting;
  state.lastSuccess = await getMeta('last_sync_ok');
  emit();
}

function describe(err) {
  if (err instanceof TransportError) return err.message;
  if (err instanceof RetryLater) return `服务器繁忙，${err.seconds} 秒后重试`;
  if (err instanceof EnvelopeError) return `应答无效：${err.message}（未当作成功）`;
  if (err instanceof ProblemError && err.problem.reason === 'schema_version_unsupported') {
    return '服务器版本较旧，暂不能接收本机记录：待同步的记录都保留在本机，服务器升级后会自动上传';
  }
  if (err instanceof ProblemError) return `服务器拒绝：${err.message}`;
  return `同步出错：${err.message || err}`;
}

/** The catalogue, revalidated with its ETag (a 304 costs a few bytes). */
async function refreshCatalog() {
  const cached = await getOne('cache', 'catalog');
  const headers = cached?.etag ? {'If-None-Match': cached.etag} : {};
  const res = await call('GET', '/api/v1/catalog', {headers, raw: true});
  if (res.status === 304) return;
  const value = await res.json();
  if (!Array.isArray(value?.activity_types)) throw new EnvelopeError('目录应答无效');
  await putOne('cache', {key: 'catalog', etag: res.headers.get('ETag'), value});
}

async function refreshProfile() {
  const me = await call('GET', '/api/v1/me');
  if (me?.id) await putOne('cache', {key: 'me', value: me, at: new Date().toISOString()});
  return me;
}

/** This year's figures from the statistics endpoint, kept for offline reading with their as-of date. */
export async function refreshFigures() {
  const me = (await getOne('cache', 'me'))?.value || await refreshProfile();
  const value = await call('GET', `/api/v1/stats/experts/${me.id}`);
  await putOne('cache', {key: 'figures', value, at: new Date().toISOString()});
}

async function runOnce() {
  // Entries first: a day's work is safe on the server before any photo byte moves.
  await pushOutbox();
  await pullAll();
  await setMeta('last_sync_ok', new Date().toISOString());
  state.error = null;
  await refreshCounts();
  await Promise.allSettled([refreshCatalog(), refreshProfile()]);
  try {
    await uploadPhotos();
    state.photoError = null;
  } catch (err) {
    state.photoError = describe(err);
  }
  await refreshFigures().catch(() => {});
}

/** Sync now (or once more right after the run in progress). */
export async function syncNow() {
  if (!(await getMeta('refresh_token')) && !(await getMeta('access_token'))) {
    state.needsLogin = true;
    await refreshCounts();
    return;
  }
  if (state.running) { again = true; return; }
  state.running = true;
  emit();
  try {
    do {
      again = false;
      await runOnce();
    } while (again);
  } catch (err) {
    state.error = describe(err);
    if (err instanceof AuthRequired) state.needsLogin = true;
    if (err instanceof RetryLater) {
      clearTimeout(retryTimer);
      state.retryAt = Date.now() + err.seconds * 1000;
      retryTimer = setTimeout(() => { state.retryAt = null; syncNow(); }, err.seconds * 1000);
    }
  } finally {
    state.running = false;
    state.runs += 1;
    await refreshCounts();
  }
}

export function startTriggers() {
  window.addEventListener('online', () => syncNow());
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') syncNow(); });
  setInterval(() => { if (navigator.onLine) syncNow(); }, TIMER_MS);
}

export function signedIn() { state.needsLogin = false; emit(); }

// The app shell: sign-in, the tabs, the sync state line, the service worker, and the sync triggers.

import {fmtMoment, h, mount} from './dom.js';
import {call, login, ProblemError, RetryLater, TransportError} from './net.js';
import {account, app, editor, figures, today_, week} from './screens.js';
import {getMeta, write} from './store.js';
import {onChange, refreshCounts, signedIn, startTriggers, state, syncNow} from './syncer.js';

const root = document.getElementById('screen');
const tabs = document.getElementById('tabs');
const line = document.getElementById('sync-state');
const TABS = [['#/today', '今日'], ['#/week', '本周'], ['#/figures', '我的数据'], ['#/me', '我的']];

app.root = root;
app.go = (hash) => { if (location.hash === hash) route(); else location.hash = hash; };
app.refresh = () => route();
let soon = null;
app.syncSoon = () => { clearTimeout(soon); soon = setTimeout(() => syncNow(), 300); refreshCounts(); };

let wasRunning = false;
const FORMS = ['#/new', '#/edit', '#/revise', '#/login', '#/me'];

function renderState(s) {
  // A finished sync redraws lists with what it brought; a form being filled in is never redrawn.
  if (wasRunning && !s.running && !FORMS.some((p) => location.hash.startsWith(p))) queueMicrotask(route);
  wasRunning = s.running;
  const parts = [];
  parts.push(s.pending ? `待发送 ${s.pending} 条` : '全部已发送');
  if (s.photosWaiting) parts.push(`照片待上传 ${s.photosWaiting} 张`);
  parts.push(s.lastSuccess ? `上次同步 ${fmtMoment(s.lastSuccess)}` : '尚未同步');
  if (s.running) parts.push('同步中…');
  const problem = s.needsLogin ? '登录已失效，请重新登录（记录已保留在本机）' : s.error || s.photoError;
  mount(line, parts.join(' · '), problem ? h('span', {class: 'problem'}, ` · ${problem}`) : null);
  line.dataset.pending = String(s.pending);
  line.dataset.photos = String(s.photosWaiting);
  line.dataset.running = String(s.running);
  line.dataset.runs = String(s.runs);
  line.dataset.error = problem ? 'true' : 'false';
  line.classList.toggle('bad', Boolean(problem));
  document.body.classList.toggle('needs-login', s.needsLogin);
  if (s.needsLogin && !location.hash.startsWith('#/login')) route();
}

function loginScreen(reason) {
  const user = h('input', {id: 'username', name: 'username', autocomplete: 'username', required: true});
  const pass = h('input', {id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true});
  const msg = h('p', {class: 'form-errors', role: 'alert'}, reason || '');
  const form = h('form', {class: 'card login'},
    h('h1', {}, '登录'),
    h('p', {class: 'muted small'}, '首次登录需要联网；之后离线也能记录。'),
    h('div', {class: 'field'}, h('label', {for: 'username'}, '用户名'), user),
    h('div', {class: 'field'}, h('label', {for: 'password'}, '密码'), pass),
    msg, h('button', {type: 'submit', class: 'primary'}, '登录'));
  getMeta('username').then((u) => { if (u && !user.value) user.value = u; });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    try {
      await forgetOtherUser(user.value.trim());
      await login(user.value.trim(), pass.value);
      signedIn();
      location.hash = '#/today';
      await syncNow();
      route();
    } catch (err) {
      if (err instanceof ProblemError) msg.textContent = err.status === 401 ? '用户名或密码不对' : err.message;
      else if (err instanceof RetryLater) msg.textContent = `尝试过多，请 ${err.seconds} 秒后再试`;
      else if (err instanceof TransportError) msg.textContent = '没有网络：首次登录需要联网';
      else msg.textContent = err.message || String(err);
    }
  });
  mount(root, form);
}

/** Another person signing in on this phone starts from an empty store and a new device id. */
async function forgetOtherUser(username) {
  const previous = await getMeta('username');
  if (!previous || previous.toLowerCase() === username.toLowerCase()) return;
  if (state.pending) throw new Error(`本机还有 ${previous} 的 ${state.pending} 条未发送记录：请先用该账号登录同步`);
  await wipeLocal(true);
}

async function wipeLocal(newDevice) {
  await write(['meta', 'records', 'outbox', 'issues', 'photos', 'deployments', 'cache'], async (tx) => {
    for (const store of ['records', 'issues', 'photos', 'deployments', 'cache']) await tx.clear(store);
    for (const key of ['access_token', 'refresh_token', 'cursor']) await tx.setMeta(key, null);
    if (newDevice) {
      // Dropped numbers would leave the server waiting for them forever: a fresh device starts again at 1.
      await tx.clear('outbox');
      await tx.setMeta('device_id', null);
      await tx.setMeta('last_seq', 0);
      await tx.setMeta('username', null);
    }
  });
}

async function signOut() {
  try { await call('POST', '/api/v1/auth/logout'); } catch { /* offline: the session expires on its own */ }
  await wipeLocal(state.pending + state.photosWaiting > 0);
  state.needsLogin = true;
  await refreshCounts();
  location.hash = '#/login';
  route();
}

async function route() {
  const hash = location.hash || '#/today';
  const hasToken = Boolean(await getMeta('refresh_token'));
  const known = Boolean(await getMeta('username'));
  mount(tabs, TABS.map(([href, label]) => h('a', {href, class: hash.startsWith(href) ? 'active' : null}, label)));
  if (!hasToken) {
    // On its own address, so a sync finishing in the background never redraws a half-typed password.
    if (!hash.startsWith('#/login')) history.replaceState(null, '', '#/login');
    tabs.hidden = !known;
    return loginScreen(known ? '登录已失效，请重新登录；未发送的记录仍在本机。' : '');
  }
  tabs.hidden = false;
  const [, name, a, b] = hash.split('/');
  if (name === 'week') return week();
  if (name === 'figures') return figures();
  if (name === 'me') return account({onSignOut: signOut});
  if (name === 'new') return editor({typeKey: a, quick: b === 'quick'});
  if (name === 'edit') return editor({recordId: a});
  if (name === 'revise') return editor({revisionOf: a});
  return today_();
}

document.getElementById('sync-now').addEventListener('click', () => syncNow());
window.addEventListener('hashchange', route);
onChange(renderState);

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/app/sw.js', {scope: '/app/'}).catch(() => { /* opens online anyway */ });
}

document.body.dataset.ready = 'false';
await refreshCounts();
await route();
document.body.dataset.ready = 'true';
startTriggers();
syncNow();

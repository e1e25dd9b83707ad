// The console's entry point: session, role-aware navigation and a fragment router (#/path).

import {api, hasSession, logout, onSessionEnd} from './api.js';
import {h, mount, loading} from './dom.js';
import {problemBox} from './ui.js';
import {loadCatalog} from './catalog.js';
import {loginPage} from './pages/login.js';
import {reviewPage} from './pages/review.js';
import {entryPage} from './pages/entry.js';
import {expertsPage, expertPage} from './pages/experts.js';
import {exportPage} from './pages/exports.js';
import {roundsPage, roundPage} from './pages/rounds.js';
import {devicesPage} from './pages/devices.js';
import {adminPage} from './pages/admin.js';
import {monthsPage} from './pages/months.js';
import {auditPage} from './pages/audit.js';
import {jobsPage} from './pages/jobs.js';
import {notifyPage} from './pages/notify.js';

const app = document.getElementById('app');
const nav = document.getElementById('nav');
const who = document.getElementById('who');

// [hash prefix, label, roles that see it in the menu]
const MENU = [
  ['#/review', '审核队列 Review', ['supervisor']],
  ['#/experts', '专家 Experts', ['supervisor', 'hr', 'admin']],
  ['#/rounds', '晋升材料 Promotion round', ['hr', 'admin']],
  ['#/devices', '同步状态 Sync', ['supervisor', 'admin']],
  ['#/admin/institutions', '机构 Institutions', ['admin']],
  ['#/admin/agreements', '帮扶协议 Agreements', ['admin']],
  ['#/admin/deployments', '派驻 Deployments', ['admin']],
  ['#/admin/users', '用户 Users', ['admin']],
  ['#/admin/months', '月度关账 Months', ['admin']],
  ['#/audit', '审计日志 Audit', ['admin', 'supervisor']],
  ['#/admin/jobs', '任务与通知 Jobs', ['admin']],
  ['#/admin/notify', '通知渠道 Channels', ['admin']],
];

const ROUTES = [
  [/^#\/review$/, reviewPage],
  [/^#\/entries\/([0-9a-f-]{36})$/, entryPage],
  [/^#\/experts$/, expertsPage],
  [/^#\/experts\/([0-9a-f-]{36})$/, expertPage],
  [/^#\/exports\/([0-9a-f-]{36})$/, exportPage],
  [/^#\/rounds$/, roundsPage],
  [/^#\/rounds\/([0-9a-f-]{36})$/, roundPage],
  [/^#\/devices$/, devicesPage],
  [/^#\/admin\/(institutions|agreements|deployments|users)$/, adminPage],
  [/^#\/admin\/months$/, monthsPage],
  [/^#\/audit$/, auditPage],
  [/^#\/admin\/jobs$/, jobsPage],
  [/^#\/admin\/notify$/, notifyPage],
];

const ctx = {me: null, roles: new Set(), navigate: (hash) => { location.hash = hash; }};

function menuFor(roles) {
  return MENU.filter(([, , allowed]) => allowed.some((r) => roles.has(r)));
}

function renderChrome() {
  if (!ctx.me) {
    mount(nav);
    mount(who);
    return;
  }
  const current = location.hash || '#/';
  mount(nav, menuFor(ctx.roles).map(([hash, label]) =>
    h('a', {href: hash, class: current.startsWith(hash) ? 'active' : null}, label)));
  const roleText = ctx.me.roles.map((r) => r.institution_name ? `${r.label_zh}（${r.institution_name}）` : r.label_zh).join('，');
  mount(who,
    h('span', {class: 'who-name'}, ctx.me.name), h('span', {class: 'who-roles muted small'}, roleText),
    h('button', {type: 'button', class: 'link', onclick: signOut}, '退出 Sign out'));
}

async function signOut() {
  await logout();
  ctx.me = null;
  ctx.roles = new Set();
  location.hash = '#/login';
  route();
}

async function loadMe() {
  ctx.me = await api.get('/api/v1/me');
  ctx.roles = new Set(ctx.me.roles.map((r) => r.role));
  await loadCatalog();
}

function homePage(view) {
  const items = menuFor(ctx.roles);
  if (items.length) {
    location.replace(items[0][0]);
    return;
  }
  mount(view, h('section', {class: 'card'}, h('h2', {}, `你好，${ctx.me.name}`),
    h('p', {}, '派驻专家请使用手机 App 记录和提交工作日志；本网页控制台供审核人、人事科和管理员使用。'),
    h('p', {class: 'muted'}, 'Experts log their work in the phone app; this console is for supervisors, HR and administrators.')));
}

let routeSeq = 0;

async function route() {
  const seq = ++routeSeq;
  const hash = location.hash || '#/';
  if (!hasSession()) {
    ctx.me = null;
    renderChrome();
    loginPage(app, {onSignedIn: async () => { await loadMe(); location.hash = '#/'; route(); }});
    return;
  }
  if (!ctx.me) {
    mount(app, loading());
    try {
      await loadMe();
    } catch (err) {
      if (!hasSession()) return route();
      mount(app, problemBox(err));
      return;
    }
  }
  if (seq !== routeSeq) return;
  renderChrome();
  const view = h('div', {class: 'view'});
  mount(app, view);
  if (hash === '#/' || hash === '#/login') return homePage(view);
  for (const [pattern, page] of ROUTES) {
    const m = hash.match(pattern);
    if (m) {
      try {
        await page(view, ctx, ...m.slice(1));
      } catch (err) {
        if (seq === routeSeq) mount(view, problemBox(err));
      }
      return;
    }
  }
  mount(view, h('div', {class: 'alert warn'}, '没有这个页面 (no such page). ', h('a', {href: '#/'}, '返回首页')));
}

onSessionEnd((problem) => {
  ctx.me = null;
  const reason = problem && problem.detail ? problem.detail : '';
  sessionStorage.setItem('fieldlog.signout_reason', reason);
  location.hash = '#/login';
  route();
});

window.addEventListener('hashchange', route);
route();

// Supervisor's review queue: by expert and ISO week, select many, approve or return with a comment.

import {api} from '../api.js';
import {h, mount, clear, fmtDate, fmtDateTime, badge, loading} from '../dom.js';
import {problemBox} from '../ui.js';
import {activityTypes, typeLabel, summarize, choices, choiceLabel} from '../catalog.js';
import {statusLabel} from '../labels.js';

const OUTCOMES = {
  applied: ['已处理 applied', 'ok'],
  stale_version: ['版本已变化，请刷新后重审 stale version', 'warn'],
  not_in_scope: ['不在您的审核范围 not in scope', 'error'],
  wrong_state: ['状态已变化 wrong state', 'warn'],
  locked: ['已锁定（月度关账）locked', 'warn'],
  not_allowed: ['不允许 not allowed', 'error'],
};

export async function reviewPage(view, ctx) {
  const scopes = ctx.me.roles.filter((r) => r.role === 'supervisor' && r.institution_id);
  const hospitalName = new Map(scopes.map((r) => [r.institution_id, r.institution_name]));
  const filters = {institution_id: '', activity_type: '', date_from: '', date_to: ''};
  const selected = new Map(); // entry_id -> {version, activity_type}
  const corrections = new Map(); // entry_id -> {grade, role}
  let lastQueue = null;

  const summary = h('div', {class: 'summary'});
  const listArea = h('div', {class: 'groups'});
  const resultsArea = h('div', {class: 'results', 'aria-live': 'polite'});
  const countLabel = h('span', {class: 'selected-count'}, '已选 0 条');
  const comment = h('textarea', {id: 'review-comment', rows: 2, maxlength: 2000,
    placeholder: '审核意见（退回时必填）Comment — required when returning'});
  const commentError = h('div', {class: 'field-error'});
  const approveBtn = h('button', {type: 'button', class: 'primary', disabled: true, onclick: () => decide('approve')}, '批量通过 Approve');
  const returnBtn = h('button', {type: 'button', class: 'danger', disabled: true, onclick: () => decide('return')}, '退回修改 Return');
  // On phones the bar is fixed at the bottom: this short line tells the outcome where the thumb is.
  const barStatus = h('div', {class: 'bar-status', 'aria-live': 'polite'});

  function updateSelection() {
    countLabel.textContent = `已选 ${selected.size} 条`;
    approveBtn.disabled = returnBtn.disabled = selected.size === 0;
  }

  // On phones the filters fold behind one button so the first cards show without scrolling (app.css).
  const filterToggle = h('button', {type: 'button', class: 'filters-toggle', 'aria-expanded': 'false',
    onclick: () => {
      filterToggle.setAttribute('aria-expanded', String(filterBar.classList.toggle('open')));
    }}, '筛选 Filter');
  const filterBar = h('form', {class: 'filters review-filters', onsubmit: (e) => { e.preventDefault(); load(); }},
    filterToggle,
    h('label', {}, '医院 Hospital ', h('select', {name: 'institution_id', onchange: (e) => { filters.institution_id = e.target.value; }},
      h('option', {value: ''}, '全部 All'), scopes.map((s) => h('option', {value: s.institution_id}, s.institution_name)))),
    h('label', {}, '类型 Type ', h('select', {name: 'activity_type', onchange: (e) => { filters.activity_type = e.target.value; }},
      h('option', {value: ''}, '全部 All'), activityTypes().map((t) => h('option', {value: t.key}, t.label_zh)))),
    h('label', {}, '从 From ', h('input', {type: 'date', onchange: (e) => { filters.date_from = e.target.value; }})),
    h('label', {}, '至 To ', h('input', {type: 'date', onchange: (e) => { filters.date_to = e.target.value; }})),
    h('button', {type: 'submit'}, '刷新 Refresh'));

  const bar = h('div', {class: 'action-bar card'},
    countLabel,
    h('div', {class: 'comment-box'}, h('label', {for: 'review-comment', class: 'sr-only'}, '审核意见'), comment, commentError),
    approveBtn, returnBtn, barStatus);
  const page = h('div', {class: 'review-page'},
    h('h1', {}, '审核队列 Review queue'),
    filterBar, summary, bar, resultsArea, listArea);
  mount(view, page);
  keepClearOfFixedBar(page, bar);

  async function load() {
    mount(listArea, loading());
    try {
      lastQueue = await api.get('/api/v1/review/queue', filters);
    } catch (err) {
      mount(listArea, problemBox(err, {unavailable: '审核队列接口尚未提供。'}));
      return;
    }
    // A selection only stands for what is still on screen at the version seen.
    const onScreen = new Map(lastQueue.groups.flatMap((g) => g.items).map((it) => [it.id, it]));
    for (const [id, sel] of selected) {
      const item = onScreen.get(id);
      if (!item || item.version !== sel.version) selected.delete(id);
    }
    updateSelection();
    renderSummary(lastQueue);
    renderGroups(lastQueue);
  }

  function renderSummary(q) {
    mount(summary,
      h('div', {class: 'stat'}, h('div', {class: 'stat-num'}, String(q.total)), h('div', {class: 'stat-label'}, '待审 pending')),
      h('div', {class: ['stat', q.overdue ? 'stat-bad' : null]}, h('div', {class: 'stat-num'}, String(q.overdue)),
        h('div', {class: 'stat-label'}, `超期（>${q.overdue_days}天）overdue`)),
      h('div', {class: 'stat'}, h('div', {class: 'stat-num'}, String(q.oldest_pending_days)), h('div', {class: 'stat-label'}, '最久待审天数 oldest (days)')),
      h('div', {class: 'chips'}, Object.entries(q.counts).map(([k, n]) => badge(`${typeLabel(k)} ${n}`))),
      q.silent_experts.length ? h('div', {class: 'alert warn'},
        h('strong', {}, '长时间未同步的专家 Not synced for long: '),
        q.silent_experts.map((s) => `${s.expert_name}（${s.last_sync_at ? `最后同步 ${fmtDateTime(s.last_sync_at)}` : '从未同步'}）`).join('；')) : null);
  }

  function itemRow(item, groupBoxes) {
    const box = h('input', {type: 'checkbox', 'aria-label': `选择 ${fmtDate(item.work_date)} ${typeLabel(item.activity_type)}`,
      checked: selected.has(item.id),
      onchange: (e) => {
        if (e.target.checked) selected.set(item.id, {version: item.version, activity_type: item.activity_type});
        else selected.delete(item.id);
        updateSelection();
      }});
    groupBoxes.push([box, item]);
    // Class names and data-label let the phone layout turn each row into a card (app.css).
    const surgery = item.activity_type === 'surgery';
    return h('tr', {class: ['entry', item.overdue ? 'overdue' : null], 'data-entry-id': item.id},
      h('td', {class: 'c-check'}, box),
      h('td', {class: 'c-date'}, fmtDate(item.work_date)),
      h('td', {class: 'c-type'}, typeLabel(item.activity_type), item.revision_of ? badge('更正 revision', 'info') : null),
      h('td', {class: 'summary-cell c-summary'}, summarize(item.activity_type, item.fields)),
      h('td', {class: 'c-pending', 'data-label': '待审'}, `${item.pending_days} 天`, item.overdue ? badge('超期', 'bad') : null),
      h('td', {class: ['c-correction', surgery ? null : 'c-none'], 'data-label': '手术纠正 correction'},
        surgery ? correctionCell(item) : '—'),
      h('td', {class: 'c-link'}, h('a', {href: `#/entries/${item.id}`}, '详情')));
  }

  function correctionCell(item) {
    const current = corrections.get(item.id) || {};
    const pick = (name, label) => h('select', {'aria-label': label,
      onchange: (e) => {
        const c = {...(corrections.get(item.id) || {})};
        if (e.target.value) c[name] = e.target.value; else delete c[name];
        if (Object.keys(c).length) corrections.set(item.id, c); else corrections.delete(item.id);
      }},
    h('option', {value: ''}, `${label}：${choiceLabel('surgery', name, item.fields[name]) || '—'}（不改）`),
    choices('surgery', name).filter(([v]) => v !== item.fields[name])
      .map(([v, l]) => h('option', {value: v, selected: current[name] === v}, `改为 ${l}`)));
    return h('div', {class: 'correction'}, pick('grade', '分级'), pick('role', '角色'));
  }

  function renderGroups(q) {
    if (!q.groups.length) {
      mount(listArea, h('p', {class: 'muted empty'}, '没有待审核的条目。Nothing waiting for review.'));
      return;
    }
    mount(listArea, q.groups.map((g) => {
      const boxes = [];
      const rows = g.items.map((item) => itemRow(item, boxes));
      const all = h('input', {type: 'checkbox', 'aria-label': '全选本组 select group', onchange: (e) => {
        for (const [box, item] of boxes) {
          box.checked = e.target.checked;
          if (e.target.checked) selected.set(item.id, {version: item.version, activity_type: item.activity_type});
          else selected.delete(item.id);
        }
        updateSelection();
      }});
      return h('section', {class: ['card', 'group', g.overdue ? 'has-overdue' : null]},
        h('header', {class: 'group-head'},
          h('h2', {}, g.expert_name),
          h('span', {class: 'week'}, `${g.iso_year} 年第 ${g.iso_week} 周（${fmtDate(g.week_start)} 起）`),
          hospitalName.get(g.institution_id) ? h('span', {class: 'muted'}, hospitalName.get(g.institution_id)) : null,
          h('span', {class: 'chips'}, Object.entries(g.counts).map(([k, n]) => badge(`${typeLabel(k)} ${n}`))),
          g.overdue ? badge(`${g.overdue} 条超期 overdue`, 'bad') : null,
          g.expert_sync_overdue ? badge(g.expert_last_sync_at ? `手机久未同步（${fmtDateTime(g.expert_last_sync_at)}）` : '手机从未同步', 'warn') : null),
        h('div', {class: 'table-wrap'}, h('table', {class: 'queue-table'},
          h('thead', {}, h('tr', {}, h('th', {class: 'c-check', 'data-label': '全选本组 select all'}, all), h('th', {}, '日期'), h('th', {}, '类型'), h('th', {}, '内容'),
            h('th', {}, '待审'), h('th', {}, '手术纠正 correction'), h('th', {}, ''))),
          h('tbody', {}, rows))));
    }));
  }

  async function decide(action) {
    clear(commentError);
    const text = comment.value.trim();
    if (action === 'return' && !text) {
      commentError.textContent = '退回时必须填写意见 A comment is required when returning.';
      comment.focus();
      return;
    }
    const decisions = [...selected].map(([id, sel]) => {
      const d = {entry_id: id, version: sel.version, action};
      if (text) d.comment = text;
      if (action === 'approve' && corrections.has(id)) d.correction = corrections.get(id);
      return d;
    });
    approveBtn.disabled = returnBtn.disabled = true;
    clear(barStatus);
    mount(resultsArea, loading());
    try {
      const answer = await api.post('/api/v1/review/decisions', {decisions});
      renderResults(answer, action);
      barStatus.textContent = `${action === 'approve' ? '通过' : '退回'}：${answer.applied} / ${answer.results.length} 条已处理`;
      const done = new Set(answer.results.filter((r) => r.outcome === 'applied').map((r) => r.entry_id));
      for (const id of done) { selected.delete(id); corrections.delete(id); }
      if (done.size) comment.value = '';
    } catch (err) {
      mount(resultsArea, problemBox(err));
      barStatus.textContent = '操作失败，详见页面上方 Failed: see the top of the page';
    }
    await load();
  }

  function renderResults(answer, action) {
    const byId = new Map((lastQueue ? lastQueue.groups.flatMap((g) => g.items.map((i) => [i.id, {...i, expert: g.expert_name}])) : []));
    const failed = answer.results.filter((r) => r.outcome !== 'applied');
    mount(resultsArea, h('section', {class: ['card', failed.length ? 'warn-border' : 'ok-border']},
      h('h2', {}, `${action === 'approve' ? '通过' : '退回'}：${answer.applied} / ${answer.results.length} 条已处理`),
      h('ul', {class: 'result-list'}, answer.results.map((r) => {
        const item = byId.get(r.entry_id);
        const [label, kind] = OUTCOMES[r.outcome] || [r.outcome, 'info'];
        return h('li', {},
          badge(label, kind), ' ',
          item ? `${item.expert} · ${fmtDate(item.work_date)} · ${typeLabel(item.activity_type)}` : r.entry_id,
          r.version ? h('span', {class: 'muted small'}, ` （v${r.version}${r.status ? `，${statusLabel(r.status)}` : ''}）`) : null,
          r.detail ? h('div', {class: 'muted small'}, r.detail) : null);
      }))));
  }

  await load();
}

/** While the bar is fixed to the bottom (phone widths), pad the page by its height so no card hides under it. */
function keepClearOfFixedBar(page, bar) {
  const fit = () => {
    page.style.paddingBottom = getComputedStyle(bar).position === 'fixed' ? `${bar.offsetHeight + 12}px` : '';
  };
  new ResizeObserver(fit).observe(bar);
  fit();
}

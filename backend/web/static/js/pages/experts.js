// Experts in my scope; one expert's statistics for a period, service time toward promotion, and export.

import {api} from '../api.js';
import {h, mount, fmtDate, isoToday, badge, table, section, loading} from '../dom.js';
import {problemBox, pager, buildForm} from '../ui.js';
import {typeLabel, choiceLabel} from '../catalog.js';
import {FORMATS} from '../labels.js';

export async function expertsPage(view, ctx) {
  const state = {q: '', offset: 0, limit: 50};
  const list = h('div');
  const search = h('input', {type: 'search', placeholder: '姓名或用户名 Name or username', 'aria-label': '搜索专家'});
  mount(view, h('h1', {}, ctx.roles.has('hr') ? '本院派出专家 Our experts' : '专家 Experts'),
    h('form', {class: 'filters', onsubmit: (e) => { e.preventDefault(); state.q = search.value.trim(); state.offset = 0; load(); }},
      search, h('button', {type: 'submit'}, '搜索 Search')),
    list);

  async function load() {
    mount(list, loading());
    let page;
    try {
      page = await api.get('/api/v1/experts', {q: state.q, limit: state.limit, offset: state.offset});
    } catch (err) {
      mount(list, problemBox(err, {unavailable: '专家列表接口尚未提供。'}));
      return;
    }
    mount(list, table([
      {label: '姓名 Name', cell: (x) => h('a', {href: `#/experts/${x.id}`}, x.name)},
      {label: '职称 Title', cell: (x) => x.title_label_zh || '—'},
      {label: '专业 Specialty', cell: (x) => x.specialty || '—'},
      {label: '派出医院 Home', cell: (x) => x.home_institution_name || '—'},
      {label: '派驻 Deployments', cell: (x) => x.deployments.map((d) =>
        `${d.recipient_name} ${d.department}（${fmtDate(d.starts_on)}–${fmtDate(d.actual_end || d.planned_end)}）`).join('；') || '—'},
      {label: '状态', cell: (x) => x.is_active ? '在用' : badge('已停用', 'warn')},
    ], page.items, {cards: true}), pager(page, (offset) => { state.offset = offset; load(); }));
  }
  await load();
}

function yearStart() {
  return `${new Date().getFullYear()}-01-01`;
}

export async function expertPage(view, ctx, expertId) {
  const period = {from: yearStart(), to: isoToday()};
  const head = h('div');
  const statsArea = h('div');
  const exportArea = h('div');
  mount(view, h('p', {}, h('a', {href: '#/experts'}, '‹ 专家列表')), head,
    h('form', {class: 'filters', onsubmit: (e) => {
      e.preventDefault();
      period.from = e.target.elements.from.value;
      period.to = e.target.elements.to.value;
      loadStats();
    }},
    h('label', {}, '统计期间 从 ', h('input', {type: 'date', name: 'from', value: period.from, required: true})),
    h('label', {}, ' 至 ', h('input', {type: 'date', name: 'to', value: period.to, required: true})),
    h('button', {type: 'submit'}, '查询 Show')),
    statsArea, exportArea);

  api.get(`/api/v1/experts/${expertId}`).then((x) => mount(head,
    h('h1', {}, x.name, ' ', h('span', {class: 'muted'}, x.title_label_zh || '')),
    h('p', {class: 'muted'}, [x.home_institution_name, x.specialty].filter(Boolean).join(' · ')),
    x.deployments.length ? table([
      {label: '受援医院', cell: (d) => d.recipient_name},
      {label: '科室', cell: (d) => d.department},
      {label: '职务', cell: (d) => d.post_label_zh},
      {label: '开始', cell: (d) => fmtDate(d.starts_on)},
      {label: '结束', cell: (d) => fmtDate(d.actual_end || d.planned_end)},
      {label: '状态', cell: (d) => d.status},
    ], x.deployments, {cards: true}) : null))
    .catch((err) => mount(head, h('h1', {}, '专家 Expert'), problemBox(err)));

  async function loadStats() {
    mount(statsArea, loading());
    try {
      const stats = await api.get(`/api/v1/stats/experts/${expertId}`, {from: period.from, to: period.to});
      mount(statsArea, renderStats(stats));
    } catch (err) {
      mount(statsArea, problemBox(err, {unavailable: '统计接口尚未提供，稍后再试。'}));
    }
  }

  if (ctx.roles.has('hr') || ctx.roles.has('admin')) mount(exportArea, exportForm(expertId, period, ctx));
  await loadStats();
}

function serviceCard(svc) {
  const pct = Math.min(100, Math.round((svc.counted_days / Math.max(1, svc.required_days)) * 100));
  const bar = h('div', {class: 'progress-bar'});
  bar.style.width = `${pct}%`; // CSSOM, allowed by the CSP (no inline style attribute)
  return h('section', {class: ['card', 'service', svc.met ? 'met' : null]},
    h('h2', {}, '基层服务累计（副高晋升需满一年）Service toward promotion'),
    h('div', {class: 'service-figure'},
      h('span', {class: 'big'}, String(svc.counted_days)), h('span', {}, ` / ${svc.required_days} 天`),
      svc.met ? badge(`已满足 met ${fmtDate(svc.met_on)}`, 'ok') : badge(`还差 ${svc.remaining_days} 天`, 'warn')),
    h('div', {class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct}, bar),
    h('p', {class: 'muted'},
      `截至 ${fmtDate(svc.as_of)}。`,
      !svc.met && svc.projected_on ? `按近 ${svc.pace_window_days} 天的进度（${svc.pace_days} 天）预计 ${fmtDate(svc.projected_on)} 满足。` : '',
      svc.rules ? ` 计算规则：${svc.rules.min_days_per_month ? `每月至少 ${svc.rules.min_days_per_month} 天方计入；` : ''}差旅${svc.rules.count_travel_days ? '计入' : '不计入'}；请假${svc.rules.count_leave_days ? '计入' : '不计入'}。` : ''),
    svc.by_month && svc.by_month.length ? h('details', {}, h('summary', {}, '按月明细 by month'), table([
      {label: '月份', cell: (m) => `${m.year}-${String(m.month).padStart(2, '0')}`},
      {label: '在岗天数', cell: (m) => String(m.days)},
      {label: '计入天数', cell: (m) => String(m.counted_days)},
    ], svc.by_month, {cards: 'compact'})) : null);
}

function figureRows(f) {
  return [
    ['在岗天数 on-site days', f.on_site_days], ['差旅天数 travel days', f.travel_days], ['请假天数 leave days', f.leave_days],
    ['门诊/服务人次 patients', f.patients], ['手术台次 surgeries', f.surgeries], ['授课学时 teaching hours', f.teaching_hours],
    ['培训人次 attendees', f.attendees], ['义诊服务人数 people served', f.people_served],
    ['新技术新项目 new techniques', f.new_techniques], ['带教骨干 trainees', f.trainees],
  ].filter(([, v]) => v !== undefined && v !== null);
}

function renderStats(s) {
  const t = s.totals || {};
  const months = s.by_month || [];
  return [
    serviceCard(s.service),
    section(`工作量（已通过）${fmtDate(s.from)} – ${fmtDate(s.to)}`,
      h('div', {class: 'figures'}, figureRows(t).map(([label, v]) =>
        h('div', {class: 'stat'}, h('div', {class: 'stat-num'}, String(v)), h('div', {class: 'stat-label'}, label)))),
      h('h3', {}, '按类型 by type'),
      h('div', {class: 'chips'}, Object.entries(t.counts || {}).map(([k, n]) => badge(`${typeLabel(k)} ${n}`))),
      (t.surgeries_by_grade_role || []).length ? [h('h3', {}, '手术分级与角色 surgeries by grade and role'), table([
        {label: '分级', cell: (c) => choiceLabel('surgery', 'grade', c.grade)},
        {label: '角色', cell: (c) => choiceLabel('surgery', 'role', c.role)},
        {label: '台次', cell: (c) => String(c.count)},
      ], t.surgeries_by_grade_role, {cards: 'compact'})] : null,
      s.pending && s.pending.entries ? h('div', {class: 'alert info'},
        `另有 ${s.pending.entries} 条待审核（未计入以上数字）：`,
        Object.entries(s.pending.by_type || {}).map(([k, n]) => `${typeLabel(k)} ${n}`).join('、')) : null),
    months.length ? section('按月 by month', table([
      {label: '月份', cell: (m) => m.month},
      {label: '在岗天数', cell: (m) => String(m.figures.on_site_days ?? 0)},
      {label: '人次', cell: (m) => String(m.figures.patients ?? 0)},
      {label: '手术', cell: (m) => String(m.figures.surgeries ?? 0)},
      {label: '学时', cell: (m) => String(m.figures.teaching_hours ?? 0)},
      {label: '新技术', cell: (m) => String(m.figures.new_techniques ?? 0)},
      {label: '各类条目', cell: (m) => Object.entries(m.figures.counts || {}).map(([k, n]) => `${typeLabel(k)} ${n}`).join('、') || '—'},
    ], months, {cards: 'compact'})) : null,
  ];
}

function exportForm(expertId, period) {
  const {form} = buildForm([
    {name: 'date_from', label: '起始日期 From', type: 'date', required: true, value: period.from},
    {name: 'date_to', label: '截止日期 To', type: 'date', required: true, value: period.to},
    ...Object.entries(FORMATS).map(([fmt, label]) => ({name: `fmt_${fmt}`, label, type: 'checkbox', value: true})),
  ], {
    submitLabel: '生成证明材料 Create evidence export',
    onSubmit: async (v) => {
      const formats = Object.keys(FORMATS).filter((fmt) => v[`fmt_${fmt}`]);
      const job = await api.post('/api/v1/exports', {expert_id: expertId, date_from: v.date_from, date_to: v.date_to, formats});
      location.hash = `#/exports/${job.id}`;
      return null;
    },
  });
  return section('导出证明材料 Evidence export',
    h('p', {class: 'muted'}, '导出所选期间已通过的工作记录（PDF 证明文件带验证码，另附 XLSX 与 CSV）。'), form);
}


// Administration: institutions, agreements, deployments and users — a list with filters and a create form.

import {api} from '../api.js';
import {h, mount, fmtDate, fmtDateTime, badge, table, section, loading} from '../dom.js';
import {problemBox, buildForm, pager, optionsOf} from '../ui.js';

const KINDS = [['supporting_hospital', '支援医院'], ['county_hospital', '县级受援医院'], ['township_centre', '乡镇卫生院'],
  ['community_centre', '社区卫生服务中心']];
const LEVELS = [['tertiary_a', '三级甲等'], ['tertiary_b', '三级乙等'], ['tertiary', '三级'], ['secondary_a', '二级甲等'],
  ['secondary_b', '二级乙等'], ['secondary', '二级'], ['primary', '一级'], ['unrated', '未定级']];
const PROGRAMMES = [['counterpart_support', '对口帮扶'], ['team_support', '组团式帮扶'], ['medical_alliance', '医联体/医共体'],
  ['rural_physician', '万名医师支援农村卫生工程'], ['regional_aid', '援疆援藏援青'], ['other', '其他']];
const POSTS = [['president', '院长'], ['vice_president', '副院长'], ['department_head', '科主任'],
  ['deputy_department_head', '副科主任'], ['head_nurse', '护士长'], ['clinical_expert', '临床专家'], ['nursing_expert', '护理专家'],
  ['technical_expert', '医技专家'], ['management_expert', '管理专家']];
const DEPLOYMENT_STATUS = [['planned', '计划中'], ['active', '派驻中'], ['ended', '已结束'], ['cancelled', '已取消']];
const TITLES = [['resident_physician', '住院医师'], ['attending_physician', '主治医师'], ['associate_chief_physician', '副主任医师'],
  ['chief_physician', '主任医师'], ['nurse', '护士'], ['senior_nurse', '护师'], ['supervisor_nurse', '主管护师'],
  ['associate_chief_nurse', '副主任护师'], ['chief_nurse', '主任护师'], ['technician', '技士'], ['senior_technician', '技师'],
  ['supervisor_technician', '主管技师'], ['associate_chief_technician', '副主任技师'], ['chief_technician', '主任技师'],
  ['pharmacist', '药师'], ['manager', '管理人员'], ['other', '其他']];
const ROLES = [['expert', '派驻专家'], ['supervisor', '受援医院审核人'], ['hr', '派出医院人事'], ['admin', '管理员']];

/** Drop empty values: back-office bodies are decoded strictly, and an omitted optional field takes its default. */
function compact(values, keys) {
  const out = {};
  for (const k of keys) if (values[k] !== null && values[k] !== undefined) out[k] = values[k];
  return out;
}

async function lookups() {
  const [inst, experts, agreements] = await Promise.allSettled([
    api.get('/api/v1/admin/institutions', {limit: 200}),
    api.get('/api/v1/admin/users', {role: 'expert', limit: 200}),
    api.get('/api/v1/admin/agreements', {limit: 200}),
  ]);
  const items = (r) => (r.status === 'fulfilled' ? r.value.items : []);
  return {institutions: items(inst), experts: items(experts), agreements: items(agreements)};
}

const instLabel = (i) => `${i.name}（${i.code}）`;

const PAGES = {
  institutions: {
    title: '机构 Institutions',
    list: '/api/v1/admin/institutions',
    create: '/api/v1/admin/institutions',
    filters: [['q', '名称或编码'], ['kind', '类型', KINDS]],
    columns: [
      {label: '编码 Code', cell: (i) => i.code},
      {label: '名称 Name', cell: (i) => i.name},
      {label: '类型 Kind', cell: (i) => i.kind_label_zh},
      {label: '等级 Level', cell: (i) => i.level_label_zh},
      {label: '中医', cell: (i) => (i.is_tcm ? '是' : '否')},
      {label: '区划 Region', cell: (i) => [i.province_code, i.city_code, i.county_code].filter(Boolean).join(' / ') || '—'},
      {label: '时区', cell: (i) => i.timezone},
    ],
    form: () => [
      {name: 'code', label: '编码 Code', required: true, maxLength: 40, hint: '字母数字，如 HZ-FY1'},
      {name: 'name', label: '名称 Name', required: true, maxLength: 200},
      {name: 'kind', label: '类型 Kind', type: 'select', required: true, options: KINDS},
      {name: 'level', label: '等级 Level', type: 'select', required: true, options: LEVELS},
      {name: 'province_code', label: '省级区划码 Province code'},
      {name: 'city_code', label: '市级区划码 City code'},
      {name: 'county_code', label: '县级区划码 County code'},
      {name: 'is_tcm', label: '中医医院 TCM hospital', type: 'checkbox'},
      {name: 'timezone', label: '时区 Time zone', required: true, value: 'Asia/Shanghai'},
    ],
    body: (v) => compact(v, ['code', 'name', 'kind', 'level', 'province_code', 'city_code', 'county_code', 'is_tcm', 'timezone']),
  },
  agreements: {
    title: '帮扶协议 Agreements',
    list: '/api/v1/admin/agreements',
    create: '/api/v1/admin/agreements',
    filters: [['programme', '项目', PROGRAMMES], ['year', '年份']],
    columns: [
      {label: '名称 Name', cell: (a) => a.name},
      {label: '项目 Programme', cell: (a) => a.programme_label_zh},
      {label: '支援医院', cell: (a) => a.supporting_name},
      {label: '受援医院', cell: (a) => a.recipient_name},
      {label: '期限', cell: (a) => `${fmtDate(a.starts_on)} – ${fmtDate(a.ends_on)}`},
      {label: '年度目标 Targets', cell: (a) => (a.targets || []).map((t) =>
        `${t.year}：≥${t.min_staff}人，领导≥${t.min_leaders}，骨干≥${t.min_trainees}，新技术≥${t.min_new_techniques}`).join('；') || '—'},
    ],
    form: (lk) => [
      {name: 'name', label: '协议名称 Name', required: true, maxLength: 200},
      {name: 'programme', label: '项目 Programme', type: 'select', required: true, options: PROGRAMMES},
      {name: 'supporting_id', label: '支援医院 Supporting hospital', type: 'select', required: true,
        options: optionsOf(lk.institutions.filter((i) => i.kind === 'supporting_hospital'), instLabel)},
      {name: 'recipient_id', label: '受援医院 Recipient', type: 'select', required: true,
        options: optionsOf(lk.institutions.filter((i) => i.kind !== 'supporting_hospital'), instLabel)},
      {name: 'starts_on', label: '开始日期 Starts', type: 'date', required: true},
      {name: 'ends_on', label: '结束日期 Ends', type: 'date'},
    ],
    body: (v) => compact(v, ['name', 'programme', 'supporting_id', 'recipient_id', 'starts_on', 'ends_on']),
  },
  deployments: {
    title: '派驻 Deployments',
    list: '/api/v1/admin/deployments',
    create: '/api/v1/admin/deployments',
    filters: [['status', '状态', DEPLOYMENT_STATUS], ['active_on', '在派日期 (YYYY-MM-DD)']],
    columns: [
      {label: '专家 Expert', cell: (d) => d.expert_name},
      {label: '受援医院 Recipient', cell: (d) => d.recipient_name},
      {label: '科室', cell: (d) => d.department},
      {label: '职务 Post', cell: (d) => d.post_label_zh},
      {label: '开始', cell: (d) => fmtDate(d.starts_on)},
      {label: '计划结束', cell: (d) => fmtDate(d.planned_end)},
      {label: '实际结束', cell: (d) => fmtDate(d.actual_end)},
      {label: '状态', cell: (d) => d.status_label_zh},
    ],
    form: (lk) => [
      {name: 'expert_id', label: '专家 Expert', type: 'select', required: true,
        options: optionsOf(lk.experts, (u) => `${u.name}（${u.username}）${u.home_institution_name ? ` · ${u.home_institution_name}` : ''}`)},
      {name: 'recipient_id', label: '受援医院 Recipient', type: 'select', required: true,
        options: optionsOf(lk.institutions.filter((i) => i.kind !== 'supporting_hospital'), instLabel)},
      {name: 'agreement_id', label: '帮扶协议 Agreement', type: 'select', options: optionsOf(lk.agreements, (a) => a.name)},
      {name: 'department', label: '科室 Department', required: true, maxLength: 100},
      {name: 'post', label: '职务 Post', type: 'select', required: true, options: POSTS},
      {name: 'starts_on', label: '开始日期 Starts', type: 'date', required: true},
      {name: 'planned_end', label: '计划结束 Planned end', type: 'date', hint: '派驻至少连续 6 个月'},
      {name: 'status', label: '状态 Status', type: 'select', options: DEPLOYMENT_STATUS, emptyLabel: '按日期自动'},
    ],
    body: (v) => compact(v, ['expert_id', 'recipient_id', 'agreement_id', 'department', 'post', 'starts_on', 'planned_end', 'status']),
  },
  users: {
    title: '用户 Users',
    list: '/api/v1/admin/users',
    create: '/api/v1/admin/users',
    filters: [['q', '姓名/用户名/手机'], ['role', '角色', ROLES]],
    columns: [
      {label: '用户名', cell: (u) => u.username},
      {label: '姓名 Name', cell: (u) => u.name},
      {label: '职称', cell: (u) => u.title_label_zh || '—'},
      {label: '所属医院', cell: (u) => u.home_institution_name || '—'},
      {label: '角色 Roles', cell: (u) => u.roles.map((r) => (r.institution_name ? `${r.label_zh}（${r.institution_name}）` : r.label_zh)).join('，') || '—'},
      {label: '状态', cell: (u) => (u.is_active ? '在用' : badge(`已停用 ${fmtDateTime(u.disabled_at)}`, 'warn'))},
    ],
    actions: (u, reload, status) => [
      h('button', {type: 'button', class: u.is_active ? 'danger small' : 'small', onclick: () => {
        if (u.is_active && !confirm(`停用 ${u.name}？其所有登录将立即失效。Disable this user?`)) return;
        act(status, reload, () => (u.is_active
          ? api.post(`/api/v1/admin/users/${u.id}/disable`) : api.post(`/api/v1/admin/users/${u.id}/enable`)));
      }},
      u.is_active ? '停用 Disable' : '启用 Enable'),
      (u.devices || []).map((d) => h('button', {type: 'button', class: 'small', title: `设备 ${d.id}，最后使用 ${fmtDateTime(d.last_seen_at)}`,
        onclick: () => confirm(`释放设备 ${d.id}？该设备上的登录将结束。Release this device?`)
          && act(status, reload, () => api.del(`/api/v1/admin/devices/${encodeURIComponent(d.id)}`))},
      `释放设备 ${d.id.slice(0, 12)}…`)),
    ],
    form: (lk) => [
      {name: 'username', label: '用户名 Username', required: true, hint: '3–64 位字母、数字、. _ -'},
      {name: 'name', label: '姓名 Name', required: true, maxLength: 100},
      {name: 'password', label: '初始密码 Password', type: 'password', required: true, autocomplete: 'new-password'},
      {name: 'title', label: '职称 Title', type: 'select', options: TITLES},
      {name: 'specialty', label: '专业 Specialty'},
      {name: 'phone', label: '手机 Phone'},
      {name: 'home_institution_id', label: '所属医院 Home institution', type: 'select', options: optionsOf(lk.institutions, instLabel)},
      {name: 'role', label: '角色 Role', type: 'select', options: ROLES},
      {name: 'role_institution_id', label: '角色所在医院（审核人/人事必填）Role institution', type: 'select',
        options: optionsOf(lk.institutions, instLabel)},
    ],
    body: (v) => {
      const body = compact(v, ['username', 'name', 'password', 'title', 'specialty', 'phone', 'home_institution_id']);
      if (v.role) body.roles = [compact({role: v.role, institution_id: v.role_institution_id}, ['role', 'institution_id'])];
      return body;
    },
  },
};

async function act(status, reload, call) {
  mount(status);
  try {
    await call();
    await reload();
  } catch (err) {
    mount(status, problemBox(err));
  }
}

export async function adminPage(view, ctx, which) {
  const page = PAGES[which];
  const state = {offset: 0, limit: 50, filters: {}};
  const listArea = h('div');
  const actionStatus = h('div', {'aria-live': 'polite'});
  const formArea = h('div');

  const filterForm = h('form', {class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    for (const [name] of page.filters) state.filters[name] = e.target.elements[name].value.trim();
    state.offset = 0;
    load();
  }},
  page.filters.map(([name, label, options]) => h('label', {}, `${label} `, options
    ? h('select', {name}, h('option', {value: ''}, '全部'), options.map(([v, l]) => h('option', {value: v}, l)))
    : h('input', {name, type: 'search'}))),
  h('button', {type: 'submit'}, '查询 Search'));

  mount(view, h('h1', {}, page.title), filterForm, actionStatus, listArea, formArea);

  async function load() {
    mount(listArea, loading());
    let data;
    try {
      data = await api.get(page.list, {...state.filters, limit: state.limit, offset: state.offset});
    } catch (err) {
      mount(listArea, problemBox(err));
      return;
    }
    const columns = page.actions
      ? [...page.columns, {label: '操作', cell: (row) => page.actions(row, load, actionStatus)}] : page.columns;
    mount(listArea, section(`共 ${data.total} 条`, table(columns, data.items), pager(data, (offset) => { state.offset = offset; load(); })));
  }

  async function renderForm() {
    const lk = await lookups();
    const {form, reset} = buildForm(page.form(lk), {
      submitLabel: '创建 Create',
      onSubmit: async (values) => {
        await api.post(page.create, page.body(values));
        reset();
        mount(actionStatus, h('div', {class: 'alert ok', role: 'status'}, '已创建 Created.'));
        await load();
        if (which === 'institutions' || which === 'agreements') await renderForm(); // new options for the selects
        return null;
      },
    });
    mount(formArea, section('新建 Create', form));
  }

  await Promise.all([load(), renderForm()]);
}

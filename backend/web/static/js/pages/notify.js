// Admin: where a hospital's reminders go (its WeCom / DingTalk robot or a signed webhook) and when each rule fires.
// Robot URLs carry the provider's key, so they come back masked; secrets are write-only (shown as 已设置).

import {api} from '../api.js';
import {h, mount, fmtDateTime, badge, table, section, loading} from '../dom.js';
import {problemBox, buildForm, optionsOf, flash} from '../ui.js';

const KINDS = [['wecom', '企业微信群机器人 WeCom robot'], ['dingtalk', '钉钉群机器人 DingTalk robot'],
  ['webhook', '签名 Webhook (HMAC)']];
const KIND_LABEL = Object.fromEntries(KINDS);
const RULES = {
  expert_silent: '专家多日未填报 / 昨日未打卡', expert_returned: '退回未修改', supervisor_digest: '审核人每日摘要',
  hr_digest: '人事处每周摘要', admin_months: '可关账月份',
};
const CADENCE = {daily: '每日', weekly: '每周', monthly: '每月'};

export async function notifyPage(view) {
  const title = h('h1', {}, '通知渠道与规则 Notification channels & rules');
  mount(view, title, loading());
  let institutions;
  try {
    institutions = (await api.get('/api/v1/admin/institutions', {limit: 200})).items;
  } catch (err) {
    mount(view, title, problemBox(err));
    return;
  }
  const body = h('div', {class: 'notify-institution'});
  const picker = h('select', {id: 'notify-institution', name: 'institution_id', 'aria-label': '医院 Hospital'},
    optionsOf(institutions, (i) => `${i.name}（${i.code}）`).map(([v, label]) => h('option', {value: v}, label)));
  picker.addEventListener('change', () => showInstitution(body, picker.value));
  mount(view, title,
    h('p', {class: 'muted'}, '每家医院的提醒和摘要发到它自己的群机器人；个人也可在手机端选择邮件等渠道。'
      + ' Each hospital\'s reminders go to its own robot; people can choose e-mail on their own.'),
    h('div', {class: 'field'}, h('label', {for: 'notify-institution'}, '医院 Hospital'), picker), body);
  if (institutions.length) await showInstitution(body, picker.value);
}

async function showInstitution(body, institutionId) {
  delete body.dataset.institution;
  mount(body, loading());
  let channels;
  let rules;
  try {
    [channels, rules] = await Promise.all([
      api.get('/api/v1/admin/notifications/channels', {institution_id: institutionId}),
      api.get(`/api/v1/admin/notifications/rules/${institutionId}`),
    ]);
  } catch (err) {
    mount(body, problemBox(err));
    return;
  }
  const reload = () => showInstitution(body, institutionId);
  mount(body, channelsSection(institutionId, channels, reload), channelForm(institutionId, reload),
    rulesSection(institutionId, rules));
  body.dataset.institution = institutionId;
}

function channelsSection(institutionId, channels, reload) {
  const status = h('div', {'aria-live': 'polite'});
  return section('已配置的渠道 Channels', status, table([
    {label: '类型 Kind', cell: (c) => KIND_LABEL[c.kind] || c.kind},
    {label: '地址 URL', cell: (c) => h('code', {}, c.url_masked)},
    {label: '签名密钥 Secret', cell: (c) => c.has_secret ? '已设置 set' : '—'},
    {label: '状态 State', cell: (c) => c.enabled ? badge('启用 on', 'ok') : badge('停用 off')},
    {label: '更新 Updated', cell: (c) => fmtDateTime(c.updated_at)},
    {label: '', cell: (c) => h('button', {type: 'button', class: 'secondary', 'data-remove': c.kind, onclick: async () => {
      if (!window.confirm(`删除 ${KIND_LABEL[c.kind] || c.kind}？`)) return;
      try {
        await api.del(`/api/v1/admin/notifications/channels/${institutionId}/${c.kind}`);
        await reload();
      } catch (err) {
        mount(status, problemBox(err));
      }
    }}, '删除 Remove')},
  ], channels, {empty: '尚未配置：提醒只发给选择了邮件的人 (none)'}));
}

function channelForm(institutionId, reload) {
  const {form} = buildForm([
    {name: 'kind', label: '类型 Kind', type: 'select', required: true, options: KINDS},
    {name: 'url', label: '机器人地址 Robot URL', type: 'text', required: true, maxLength: 1000,
      placeholder: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…',
      hint: '在群设置 → 群机器人 中复制完整地址（含 key / access_token）。'},
    {name: 'secret', label: '加签密钥 Secret（钉钉加签、Webhook 必填）', type: 'password', maxLength: 500,
      autocomplete: 'off', hint: '只写入，不会再显示；留空则不改。'},
    {name: 'enabled', label: '启用 Enabled', type: 'checkbox', value: true},
  ], {
    submitLabel: '保存渠道 Save channel',
    onSubmit: async (v) => {
      const data = {url: v.url, enabled: v.enabled};
      if (v.secret) data.secret = v.secret;
      await api.put(`/api/v1/admin/notifications/channels/${institutionId}/${v.kind}`, data);
      await reload();
      return null;
    },
  });
  return section('设置渠道 Set a channel', form);
}

function rulesSection(institutionId, rules) {
  return section('规则 Rules', h('p', {class: 'muted small'}, '时间按所填时区；安静时段内不发送，顺延到结束后。'),
    h('div', {class: 'rules'}, rules.map((rule) => ruleCard(institutionId, rule))));
}

function ruleCard(institutionId, rule) {
  const note = h('div', {'aria-live': 'polite'});
  const {form} = buildForm([
    {name: 'enabled', label: '启用 Enabled', type: 'checkbox', value: rule.enabled},
    {name: 'threshold_days', label: '天数 Threshold days', type: 'number', min: 0, max: 365, value: rule.threshold_days,
      hint: rule.rule === 'expert_silent' ? '连续多少个工作日未填报即提醒' : '退回/逾期多少天后提醒（0 = 不限）'},
    {name: 'send_hour', label: '发送时刻 Hour', type: 'number', min: 0, max: 23, value: rule.send_hour},
    {name: 'quiet_start', label: '安静开始 Quiet from', type: 'number', min: 0, max: 23, value: rule.quiet_start ?? ''},
    {name: 'quiet_end', label: '安静结束 Quiet until', type: 'number', min: 0, max: 23, value: rule.quiet_end ?? ''},
    {name: 'skip_weekends', label: '周末不发 Skip weekends', type: 'checkbox', value: rule.skip_weekends},
    {name: 'timezone', label: '时区 Time zone', type: 'text', maxLength: 64, value: rule.timezone},
  ], {
    submitLabel: '保存 Save',
    onSubmit: async (v) => {
      const data = {enabled: v.enabled, skip_weekends: v.skip_weekends};
      for (const key of ['threshold_days', 'send_hour', 'quiet_start', 'quiet_end', 'timezone']) {
        if (v[key] !== null) data[key] = v[key];
      }
      const saved = await api.put(`/api/v1/admin/notifications/rules/${institutionId}/${rule.rule}`, data);
      flash(note, `已保存：${saved.enabled ? '启用' : '停用'}，${saved.send_hour}:00 ${saved.timezone}`);
      return null;
    },
  });
  return h('div', {class: 'card rule', 'data-rule': rule.rule},
    h('h3', {}, RULES[rule.rule] || rule.rule, ' ', h('code', {class: 'small'}, rule.rule), ' ',
      badge(CADENCE[rule.cadence] || rule.cadence), rule.customised ? badge('已自定义 customised', 'ok') : null),
    form, note);
}

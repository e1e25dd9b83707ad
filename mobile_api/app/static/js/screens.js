// The screens: 今日 (today), 本周 (my week), 我的数据 (my figures), 我的 (account), and the entry editor.

import {entryCard, issuesPanel} from './cards.js';
import {addDays, fmtMoment, h, localDate, mount, weekStart} from './dom.js';
import {entryForm} from './forms.js';
import {createEntry, deleteEntry, submitEntry, updateEntry} from './local.js';
import {ATTENDANCE, catalog, currentDeployment, editable, entries, me, typeOf} from './model.js';
import {call, ProblemError} from './net.js';
import {addPhoto, photoStats} from './photos.js';
import {getOne, pendingStats, write} from './store.js';
import {issues} from './sync.js';

const WEEKDAYS = ['周一', '周二', '周三', '周四', '周五', '周六', '周日'];

/** Everything a screen needs from the app shell. */
export const app = {go: null, refresh: null, syncSoon: null, root: null};

async function attachPhotos(files, entryId) {
  const hashes = [];
  for (const file of files) hashes.push(await addPhoto(file, entryId));
  return hashes;
}

/** Diff of a form's content against the entry: only what the expert changed (cleared fields as null). */
function changesOf(before, content) {
  const changes = {};
  for (const key of ['work_date', 'note']) if ((before[key] ?? null) !== (content[key] ?? null)) changes[key] = content[key];
  const fields = {};
  const old = before.fields || {};
  for (const key of new Set([...Object.keys(old), ...Object.keys(content.fields)])) {
    const a = JSON.stringify(old[key] ?? null);
    const b = JSON.stringify(content.fields[key] ?? null);
    if (a !== b && !(old[key] && typeof old[key] === 'object' && content.fields[key] === undefined)) {
      fields[key] = content.fields[key] ?? null;
    }
  }
  if (Object.keys(fields).length) changes.fields = fields;
  return changes;
}

/** The editor: a new entry of a type, or a change of an existing one (with the server's field errors). */
export async function editor({typeKey, recordId = null, quick = false, revisionOf = null}) {
  const cat = await catalog();
  const rec = recordId ? await getOne('records', recordId) : null;
  const source = revisionOf ? await getOne('records', revisionOf) : null;
  const type = typeOf(cat, rec?.data.activity_type || source?.data.activity_type || typeKey);
  if (!type) return mount(app.root, h('p', {class: 'card'}, '目录尚未下载：请先联网同步一次。'));
  if (rec && !editable(rec) && !(rec.state === 'rejected' && !rec.server_data)) {
    const why = rec.data.status === 'approved' ? '已通过审核的记录不能修改：请在「本周」发起更正。'
      : rec.data.locked ? '这条记录已锁定，不能修改。' : '这条记录正在审核中，不能修改。';
    return mount(app.root, h('section', {class: 'card not-editable'}, h('p', {}, why),
      h('button', {type: 'button', onclick: () => app.go('#/week')}, '返回本周')));
  }
  const deployment = await currentDeployment();
  const errs = rec ? (await issues()).filter((i) => i.record_id === rec.id && !i.dismissed && i.outcome === 'rejected')
    .flatMap((i) => i.errors || []) : [];
  const onSave = async (content, files) => {
    const id = rec?.id || crypto.randomUUID();
    const hashes = await attachPhotos(files, id);
    if (revisionOf) {
      // A correction of an approved entry is a new draft on the server (online only).
      const body = {...content, id, deployment_id: source.data.deployment_id,
                    attachments: [...new Set([...(source.data.attachments || []), ...hashes])]};
      try {
        const out = await call('POST', `/api/v1/entries/${revisionOf}/revisions`, {
          headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
        await write(['records'], (tx) => tx.put('records', {id: out.id, data: out, server_data: out,
          server_version: out.version, status: out.status, state: 'synced'}));
      } catch (err) {
        if (err instanceof ProblemError) throw new Error(err.fieldErrors.map((e) => e.message).join('；') || err.message);
        throw new Error('发起更正需要联网，请稍后再试');
      }
    } else if (rec && !(rec.state === 'rejected' && !rec.server_data)) {
      const changes = changesOf(rec.data, content);
      if (hashes.length) changes.attachments = [...new Set([...(rec.data.attachments || []), ...hashes])];
      if (Object.keys(changes).length) await updateEntry(rec.id, changes);
    } else {
      // New, or a create the server refused: (re)create it with the same id under a new number.
      await createEntry({...content, id, deployment_id: deployment.id,
                         attachments: [...new Set([...(rec?.data.attachments || []), ...hashes])]});
    }
    app.syncSoon();
    app.go(rec || revisionOf ? '#/week' : '#/today');
  };
  mount(app.root, entryForm({type, deployment, entry: rec?.data || source?.data || null, quick, errors: errs,
                             workDate: localDate(), onSave, onCancel: () => history.back()}));
}

async function tapAttendance(status) {
  const deployment = await currentDeployment();
  if (!deployment) return;
  const today = localDate();
  const existing = (await entries()).find((r) => r.data.activity_type === 'attendance' && r.data.work_date === today);
  if (existing && editable(existing)) {
    if (existing.data.fields?.status !== status) await updateEntry(existing.id, {fields: {status}});
  } else if (!existing) {
    await createEntry({deployment_id: deployment.id, work_date: today, activity_type: 'attendance',
                       fields: {status}, attachments: []});
  }
  app.syncSoon();
  await today_();
}

const cardActions = {
  edit: (rec) => app.go(`#/edit/${rec.id}`),
  submit: async (rec) => { await submitEntry(rec.id); app.syncSoon(); await app.refresh(); },
  remove: async (rec) => { await deleteEntry(rec.id); app.syncSoon(); await app.refresh(); },
  revise: (rec) => app.go(`#/revise/${rec.id}`),
};

export async function today_() {
  const cat = await catalog();
  const deployment = await currentDeployment();
  const today = localDate();
  const mine = (await entries()).filter((r) => r.data.work_date === today);
  const attendance = mine.find((r) => r.data.activity_type === 'attendance');
  const quick = [['clinic', '门诊'], ['teaching_round', '查房'], ['lecture', '讲座'], ['surgery', '手术']];
  mount(app.root,
    h('section', {class: 'card'},
      h('h1', {}, `今日 ${today}`),
      deployment ? h('p', {class: 'muted'}, `${deployment.recipient_name || ''} ${deployment.department || ''}`)
        : h('p', {class: 'warn'}, '没有进行中的派驻：请联网同步。'),
      h('h2', {}, '考勤'),
      h('div', {class: 'attendance'}, ATTENDANCE.map(([value, label]) => h('button', {
        type: 'button', class: ['att', attendance?.data.fields?.status === value && 'chosen'], dataset: {status: value},
        disabled: !deployment || !cat || (attendance && !editable(attendance)), onclick: () => tapAttendance(value)}, label)))),
    h('section', {class: 'card'},
      h('h2', {}, '快速填报'),
      h('div', {class: 'quick'}, quick.map(([key, label]) => h('button', {type: 'button', class: 'quick-btn', dataset: {type: key},
        disabled: !deployment || !cat, onclick: () => app.go(`#/new/${key}/quick`)}, label))),
      h('details', {class: 'all-types'}, h('summary', {}, '全部类型'),
        h('div', {class: 'types'}, (cat?.activity_types || []).map((t) => h('button', {type: 'button', class: 'type-btn',
          dataset: {type: t.key}, disabled: !deployment, onclick: () => app.go(`#/new/${t.key}`)}, t.label_zh))))),
    h('section', {class: 'card'}, h('h2', {}, `今日记录（${mine.length}）`),
      mine.length ? mine.map((r) => entryCard(cat, r, cardActions)) : h('p', {class: 'muted'}, '今天还没有记录。')));
}

export async function week(offset = 0) {
  const cat = await catalog();
  const start = addDays(weekStart(localDate()), 7 * offset);
  const days = [...Array(7).keys()].map((i) => addDays(start, i));
  const all = await entries();
  const inWeek = all.filter((r) => r.data.work_date >= days[0] && r.data.work_date <= days[6]);
  // A new entry the server refused is not on the server yet: it is fixed (and sent again) before it is submitted.
  const drafts = inWeek.filter((r) => editable(r) && r.data.status === 'draft' && !(r.state === 'rejected' && !r.server_data));
  const submitWeek = async () => {
    for (const r of drafts) await submitEntry(r.id);
    app.syncSoon();
    await week(offset);
  };
  mount(app.root,
    issuesPanel(cat, await issues(), {onChange: async (changed) => { if (changed) app.syncSoon(); await week(offset); }}),
    h('section', {class: 'card'},
      h('div', {class: 'week-nav'},
        h('button', {type: 'button', onclick: () => week(offset - 1)}, '‹ 上周'),
        h('h1', {}, `${days[0].slice(5)} – ${days[6].slice(5)}`),
        h('button', {type: 'button', onclick: () => week(offset + 1), disabled: offset >= 0}, '下周 ›')),
      h('button', {type: 'button', class: 'primary submit-week', disabled: !drafts.length, onclick: submitWeek},
        drafts.length ? `提交本周（${drafts.length} 条草稿）` : '本周没有待提交的草稿')),
    days.map((d, i) => {
      const list = inWeek.filter((r) => r.data.work_date === d);
      return h('section', {class: 'day card', dataset: {date: d}}, h('h2', {}, `${WEEKDAYS[i]} ${d.slice(5)}`),
        list.length ? list.map((r) => entryCard(cat, r, cardActions)) : h('p', {class: 'muted small'}, '无记录'));
    }));
}

export async function figures() {
  const cached = await getOne('cache', 'figures');
  const f = cached?.value;
  if (!f) {
    return mount(app.root, h('section', {class: 'card'}, h('h1', {}, '我的数据'),
      h('p', {class: 'muted'}, '还没有数据：联网同步后显示，之后离线也可查看。')));
  }
  const s = f.service;
  const t = f.totals;
  const pct = Math.min(100, Math.round((100 * s.counted_days) / Math.max(1, s.required_days)));
  const rows = [['在岗天数', t.on_site_days], ['门诊等诊疗人次', t.patients], ['手术台次', t.surgeries],
                ['授课学时', t.teaching_hours], ['培训听众人次', t.attendees], ['义诊服务人数', t.people_served],
                ['新技术新项目', t.new_techniques], ['待审记录', f.pending.entries]];
  mount(app.root,
    h('section', {class: 'card figures'},
      h('h1', {}, '我的数据'),
      h('p', {class: 'muted small as-of'}, `数据截至 ${f.as_of}（${fmtMoment(cached.at)} 获取）`),
      h('h2', {}, '服务期（一年基层服务）'),
      h('p', {class: 'service-days'}, `已计 ${s.counted_days} / ${s.required_days} 天`, s.met ? '（已满足）' : `，还差 ${s.remaining_days} 天`),
      h('progress', {max: '100', value: String(pct)}),
      s.projected_on && !s.met ? h('p', {class: 'muted small'}, `按近期进度预计 ${s.projected_on} 满足`) : null,
      h('h2', {}, `本年统计（${f.from} 至 ${f.to}，已通过）`),
      h('dl', {class: 'stats'}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? 0))]))));
}

export async function account({onSignOut}) {
  const profile = await me();
  const warn = h('div', {class: 'signout-warn', hidden: true});
  const signOut = async () => {
    // Counted at the tap: what would be lost now, not when the screen was drawn.
    const {count} = await pendingStats();
    const photos = (await photoStats()).waiting;
    if (count + photos === 0) return onSignOut();
    mount(warn, h('p', {}, `还有 ${count} 条记录${photos ? `和 ${photos} 张照片` : ''}未发送，退出后将丢失。`),
      h('button', {type: 'button', class: 'danger confirm-sign-out', onclick: onSignOut}, `仍然退出（丢弃 ${count + photos} 项）`),
      h('button', {type: 'button', onclick: () => { warn.hidden = true; }}, '取消'));
    warn.hidden = false;
  };
  mount(app.root, h('section', {class: 'card'},
    h('h1', {}, '我的'),
    h('p', {}, profile ? `${profile.name}（${profile.username}）` : '—'),
    h('p', {class: 'muted small'}, `本机编号：${(await getOne('meta', 'device_id'))?.value || '—'}`),
    h('button', {type: 'button', class: 'danger sign-out', onclick: signOut}, '退出登录'), warn));
}

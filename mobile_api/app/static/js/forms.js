// Entry forms drawn from the catalogue (/api/v1/catalog): required fields, ranges, choices, units, labels.

import {h} from './dom.js';
import {cleanValue, validateEntry} from './rules.js';

// Quick entry shows these fields first; "全部字段" opens the rest of the type's fields.
export const QUICK = {
  clinic: ['session', 'patients_first_visit', 'patients_follow_up'],
  teaching_round: ['attendees', 'cases', 'ward'],
  lecture: ['title', 'hours', 'audience_count', 'mode'],
  surgery: ['procedure_name', 'grade', 'role'],
};

function control(spec, value) {
  const name = `fields.${spec.name}`;
  const id = `f-${spec.name}`;
  const attrs = {id, name, 'aria-required': spec.required ? 'true' : null};
  if (spec.type === 'enum') {
    return h('select', attrs, h('option', {value: ''}, spec.required ? '请选择' : '（不填）'),
      spec.choices.map((c) => h('option', {value: c.value, selected: value === c.value}, c.label_zh)));
  }
  if (spec.type === 'multi_enum') {
    const chosen = new Set(Array.isArray(value) ? value : []);
    return h('div', {class: 'checks', id, dataset: {multi: name}},
      spec.choices.map((c) => h('label', {class: 'check'},
        h('input', {type: 'checkbox', value: c.value, checked: chosen.has(c.value), dataset: {of: name}}), c.label_zh)));
  }
  if (spec.type === 'bool') return h('input', {...attrs, type: 'checkbox', checked: value === true});
  if (spec.type === 'int' || spec.type === 'number') {
    return h('input', {...attrs, type: 'number', inputmode: spec.type === 'int' ? 'numeric' : 'decimal',
                       step: spec.type === 'int' ? '1' : 'any', min: spec.minimum ?? null, max: spec.maximum ?? null,
                       value: value ?? ''});
  }
  if (spec.type === 'date') return h('input', {...attrs, type: 'date', value: value ?? ''});
  if (spec.type === 'time') return h('input', {...attrs, type: 'time', value: value ?? ''});
  if (spec.type === 'text' && (spec.max_length || 0) > 500) {
    return h('textarea', {...attrs, rows: 3, maxlength: spec.max_length, value: value ?? ''});
  }
  const shown = value && typeof value === 'object' ? value.masked || '' : value ?? '';
  return h('input', {...attrs, type: 'text', maxlength: spec.max_length || null, value: shown,
                     placeholder: spec.type === 'record_number' ? '仅保存加密摘要' : null});
}

function row(label, name, input, {unit = null, required = false, hidden = false} = {}) {
  return h('div', {class: ['field', hidden && 'more'], dataset: {field: name}},
    h('label', {for: input.id || null}, label, required ? h('span', {class: 'req'}, ' *') : null),
    h('div', {class: 'input-row'}, input, unit ? h('span', {class: 'unit'}, unit) : null),
    h('p', {class: 'field-error', dataset: {errorFor: name}}));
}

const UNITS = {min: '分钟', h: '小时', years: '岁'};

/** Show errors on the fields they name (client-side or the server's); returns true when there were any. */
export function showErrors(form, errors) {
  for (const p of form.querySelectorAll('.field-error')) p.textContent = '';
  const general = form.querySelector('.form-errors');
  general.textContent = '';
  for (const err of errors) {
    const target = form.querySelector(`[data-error-for="${CSS.escape(err.field)}"]`);
    if (target) {
      target.textContent = target.textContent ? `${target.textContent}；${err.message}` : err.message;
      target.closest('.field')?.classList.remove('more');
    } else {
      general.append(h('p', {}, err.field ? `${err.field}：${err.message}` : err.message));
    }
  }
  return errors.length > 0;
}

/**
 * A form for one activity type. `entry` is the current content when editing; `onSave(content, files)` gets
 * the entry content (EntryCreate shape without id/deployment) and the chosen photo files.
 */
export function entryForm({type, deployment, entry = null, quick = false, errors = [], workDate, onSave, onCancel}) {
  const values = entry?.fields || {};
  const quickNames = new Set(quick ? QUICK[type.key] || [] : type.fields.map((f) => f.name));
  const rows = type.fields.map((spec) => row(spec.label_zh, `fields.${spec.name}`, control(spec, values[spec.name]),
    {unit: UNITS[spec.unit] || spec.unit, required: spec.required,
     hidden: !quickNames.has(spec.name) && !spec.required && values[spec.name] === undefined}));
  const date = h('input', {id: 'f-work_date', name: 'work_date', type: 'date', value: entry?.work_date || workDate,
                           max: null});
  const note = h('textarea', {id: 'f-note', name: 'note', rows: 2, maxlength: 4000, value: entry?.note || ''});
  const photos = h('input', {id: 'f-photos', name: 'photos', type: 'file', accept: 'image/*', capture: 'environment',
                             multiple: true});
  const hasMore = rows.some((r) => r.classList.contains('more'));
  const form = h('form', {class: 'entry-form card', novalidate: true, dataset: {type: type.key}},
    h('h2', {}, type.label_zh),
    row('日期', 'work_date', date, {required: true}),
    rows,
    hasMore ? h('button', {type: 'button', class: 'link', onclick: (ev) => {
      form.querySelectorAll('.field.more').forEach((el) => el.classList.remove('more'));
      ev.target.remove();
    }}, '全部字段') : null,
    row('备注', 'note', note),
    row('照片（签到表、讲课照片）', 'photos', photos),
    h('div', {class: 'form-errors', role: 'alert'}),
    h('div', {class: 'actions'},
      h('button', {type: 'submit', class: 'primary'}, '保存'),
      h('button', {type: 'button', onclick: onCancel}, '取消')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fields = {};
    for (const spec of type.fields) {
      const name = `fields.${spec.name}`;
      let raw;
      if (spec.type === 'multi_enum') {
        raw = [...form.querySelectorAll(`[data-of="${CSS.escape(name)}"]:checked`)].map((i) => i.value);
        if (!raw.length) raw = undefined;
      } else if (spec.type === 'bool') {
        raw = form.elements[name].checked ? true : undefined;
      } else if (spec.type === 'record_number' && values[spec.name] && typeof values[spec.name] === 'object'
                 && form.elements[name].value === values[spec.name].masked) {
        continue; // unchanged: the server keeps its keyed hash
      } else {
        raw = form.elements[name].value;
      }
      const value = cleanValue(spec, raw);
      if (value !== undefined) fields[spec.name] = value;
    }
    const content = {work_date: date.value, activity_type: type.key, fields, note: note.value.trim() || null};
    if (showErrors(form, validateEntry(type, content, deployment))) return;
    form.querySelector('button[type=submit]').disabled = true;
    try {
      await onSave(content, [...photos.files]);
    } catch (err) {
      form.querySelector('button[type=submit]').disabled = false;
      showErrors(form, [{field: '', message: err.message || String(err)}]);
    }
  });
  if (errors.length) queueMicrotask(() => showErrors(form, errors));
  return form;
}

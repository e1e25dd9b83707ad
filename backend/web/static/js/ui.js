// Shared widgets: problem display, forms whose field errors sit next to their fields, selects.

import {ApiError} from './api.js';
import {h, clear, append} from './dom.js';

/** A problem document as a readable block: title, detail, field errors, request id. */
export function problemBox(err, {unavailable} = {}) {
  if (!(err instanceof ApiError)) {
    return h('div', {class: 'alert error', role: 'alert'}, h('strong', {}, '出错了 Error: '), String(err && err.message || err));
  }
  if (err.endpointMissing) {
    return h('div', {class: 'alert warn', role: 'status'},
      h('strong', {}, '此功能暂未开放 '), unavailable || '服务器尚未提供该接口 (this endpoint is not available on the server yet).');
  }
  const p = err.problem;
  return h('div', {class: 'alert error', role: 'alert'},
    h('strong', {}, `${p.title || '错误'} (${err.status || '网络'})`),
    h('p', {}, p.detail || ''),
    err.fieldErrors.length ? h('ul', {}, err.fieldErrors.map((e) => h('li', {}, `${e.field}: ${e.message}`))) : null,
    p.request_id ? h('p', {class: 'muted small'}, `请求编号 request id: ${p.request_id}`) : null);
}

export function showError(container, err, opts) {
  clear(container);
  container.append(problemBox(err, opts));
}

export function flash(container, text, kind = 'ok') {
  clear(container);
  container.append(h('div', {class: ['alert', kind], role: 'status'}, text));
}

/**
 * A form from field specs. spec: {name, label, type: text|password|number|date|month|select|checkbox|textarea,
 * required, options: [[value, label]], value, placeholder, hint}. onSubmit(values) may throw an ApiError:
 * its field errors are shown beside their fields and the rest above the button.
 */
export function buildForm(specs, {submitLabel = '提交 Submit', onSubmit, extraButtons = []} = {}) {
  const status = h('div', {class: 'form-status', 'aria-live': 'polite'});
  const rows = new Map();
  const form = h('form', {class: 'form', novalidate: true});
  for (const spec of specs) {
    const id = `f-${Math.random().toString(36).slice(2, 9)}`;
    let input;
    if (spec.type === 'select') {
      input = h('select', {id, name: spec.name, required: spec.required || null},
        spec.required ? null : h('option', {value: ''}, spec.emptyLabel || '—'),
        (spec.options || []).map(([v, label]) => h('option', {value: v, selected: String(spec.value ?? '') === String(v)}, label)));
    } else if (spec.type === 'textarea') {
      input = h('textarea', {id, name: spec.name, rows: 3, required: spec.required || null, maxlength: spec.maxLength || null,
        placeholder: spec.placeholder || null}, spec.value || '');
    } else if (spec.type === 'checkbox') {
      input = h('input', {id, name: spec.name, type: 'checkbox', checked: Boolean(spec.value)});
    } else {
      input = h('input', {id, name: spec.name, type: spec.type || 'text', required: spec.required || null,
        value: spec.value ?? '', placeholder: spec.placeholder || null, autocomplete: spec.autocomplete || null,
        min: spec.min ?? null, max: spec.max ?? null, step: spec.step ?? null, maxlength: spec.maxLength || null});
    }
    const error = h('div', {class: 'field-error', id: `${id}-err`});
    input.setAttribute('aria-describedby', `${id}-err`);
    const row = h('div', {class: ['field', spec.type === 'checkbox' ? 'checkbox' : null]},
      h('label', {for: id}, spec.label, spec.required ? h('span', {class: 'req', title: '必填'}, ' *') : null),
      input, spec.hint ? h('div', {class: 'hint'}, spec.hint) : null, error);
    rows.set(spec.name, {row, input, error, spec});
    form.append(row);
  }
  const button = h('button', {type: 'submit', class: 'primary'}, submitLabel);
  form.append(status, h('div', {class: 'actions'}, button, extraButtons));

  function values() {
    const out = {};
    for (const [name, {input, spec}] of rows) {
      if (spec.type === 'checkbox') out[name] = input.checked;
      else if (spec.type === 'number') out[name] = input.value === '' ? null : Number(input.value);
      else out[name] = input.value.trim() === '' ? null : input.value.trim();
    }
    return out;
  }

  function clearErrors() {
    clear(status);
    for (const {row, error} of rows.values()) { clear(error); row.classList.remove('invalid'); }
  }

  function showErrors(err) {
    const unplaced = [];
    for (const fe of err.fieldErrors || []) {
      // Error paths look like `code`, `roles[0].institution_id` or `fields.hours`: match the leading name.
      const key = String(fe.field).replace(/^body\.?/, '').split(/[.[]/)[0];
      const target = rows.get(fe.field) || rows.get(key);
      if (target) {
        append(target.error, [h('div', {}, fe.message)]);
        target.row.classList.add('invalid');
      } else {
        unplaced.push(fe);
      }
    }
    status.append(problemBox(new ApiError(err.status, {...err.problem, errors: unplaced})));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const missing = [...rows.values()].filter(({input, spec}) => spec.required && spec.type !== 'checkbox' && !input.value.trim());
    for (const m of missing) {
      append(m.error, [h('div', {}, '必填 required')]);
      m.row.classList.add('invalid');
    }
    if (missing.length) return;
    button.disabled = true;
    try {
      const message = await onSubmit(values(), form);
      if (message) status.append(h('div', {class: 'alert ok', role: 'status'}, message));
    } catch (err) {
      if (err instanceof ApiError) showErrors(err);
      else status.append(problemBox(err));
    } finally {
      button.disabled = false;
    }
  });
  return {form, rows, values, status, reset: () => { form.reset(); clearErrors(); }};
}

/** Options [[id, label]] from a page of items. */
export function optionsOf(items, label) {
  return items.map((it) => [it.id, label(it)]);
}

export function pager({offset, limit, total}, go) {
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  return h('div', {class: 'pager'},
    h('button', {type: 'button', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit))}, '‹ 上一页'),
    h('span', {}, `第 ${page} / ${pages} 页，共 ${total} 条`),
    h('button', {type: 'button', disabled: offset + limit >= total, onclick: () => go(offset + limit)}, '下一页 ›'));
}

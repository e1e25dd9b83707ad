// DOM helpers. All text goes in through textContent / text nodes: data is never parsed as HTML.

/** Build an element: h('button', {class: 'primary', onclick: fn}, 'text', child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'checked' || key === 'selected' || key === 'disabled' || key === 'value') {
      el[key] = value;
    } else if (key.startsWith('on') || key === 'style' || key === 'srcdoc') {
      throw new Error(`refusing attribute ${key}`); // would need unsafe CSP or parse markup
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function mount(el, ...children) {
  clear(el);
  return append(el, children);
}

const dateFmt = new Intl.DateTimeFormat('zh-CN', {
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
});

export function fmtDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dateFmt.format(d);
}

export function fmtDate(iso) {
  return iso ? String(iso).slice(0, 10) : '—';
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function isoToday() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * A table from rows and column specs [{label, cell: row => node|string}]. With cards: true it becomes one
 * card per row at phone widths (app.css), each cell labelled by its column (data-label); cards: 'compact'
 * flows the cells after the first (the card's title) side by side, for rows of small figures.
 */
export function table(columns, rows, {empty = '暂无数据 (none)', rowClass, cards = false} = {}) {
  if (!rows.length) return h('p', {class: 'muted'}, empty);
  return h('div', {class: ['table-wrap', cards ? 'cards' : null, cards === 'compact' ? 'compact' : null]},
    h('table', {},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c.label)))),
      h('tbody', {}, rows.map((row) => h('tr', {class: rowClass ? rowClass(row) : null},
        columns.map((c) => h('td', {class: c.class || null, 'data-label': typeof c.label === 'string' ? c.label : null},
          c.cell(row))))))));
}

export function badge(text, kind = '') {
  return h('span', {class: ['badge', kind]}, text);
}

export function section(title, ...children) {
  return h('section', {class: 'card'}, h('h2', {}, title), children);
}

export function loading() {
  return h('p', {class: 'muted loading'}, '加载中… Loading…');
}

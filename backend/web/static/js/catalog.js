// The activity-type catalogue (labels of types, fields and choices), loaded once per sign-in.

import {api} from './api.js';

let catalog = null;

export async function loadCatalog() {
  try {
    catalog = await api.get('/api/v1/catalog');
  } catch {
    catalog = {activity_types: []}; // labels fall back to the raw keys
  }
  return catalog;
}

export function activityTypes() {
  return (catalog && catalog.activity_types) || [];
}

function typeOf(key) {
  return activityTypes().find((t) => t.key === key);
}

export function typeLabel(key) {
  const t = typeOf(key);
  return t ? t.label_zh : key;
}

export function fieldSpec(typeKey, name) {
  const t = typeOf(typeKey);
  return t ? (t.fields || []).find((f) => f.name === name) : undefined;
}

export function fieldLabel(typeKey, name) {
  const f = fieldSpec(typeKey, name);
  return f ? f.label_zh : name;
}

export function choiceLabel(typeKey, name, value) {
  const f = fieldSpec(typeKey, name);
  const c = f && (f.choices || []).find((x) => x.value === value);
  return c ? c.label_zh : value;
}

export function choices(typeKey, name) {
  const f = fieldSpec(typeKey, name);
  return f ? (f.choices || []).map((c) => [c.value, c.label_zh]) : [];
}

/** A field value as text: choice labels, yes/no, units. */
export function fieldText(typeKey, name, value) {
  if (value === null || value === undefined) return '—';
  const f = fieldSpec(typeKey, name);
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (Array.isArray(value)) return value.map((v) => fieldText(typeKey, name, v)).join('、');
  if (typeof value === 'object') return JSON.stringify(value);
  const text = f && f.choices ? choiceLabel(typeKey, name, value) : String(value);
  return f && f.unit ? `${text} ${f.unit}` : text;
}

/** A one-line summary of an entry's fields. */
export function summarize(typeKey, fields) {
  return Object.entries(fields || {})
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .slice(0, 4)
    .map(([k, v]) => `${fieldLabel(typeKey, k)}: ${fieldText(typeKey, k, v)}`)
    .join('；');
}

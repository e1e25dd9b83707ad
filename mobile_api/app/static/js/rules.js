// Client-side checks mirroring the server's rules (backend/worklog/validation.py, rules.py, privacy.py), so
// most mistakes are caught on the phone with no network. The server stays the judge: its field errors, when
// they come, are shown on the field they name.

import {addDays, localDate} from './dom.js';

// privacy.py: 18-digit resident ID (with a real birth date) and mainland mobile numbers, also full-width.
const SEP = '[ \\-]?';
const NATIONAL_ID = new RegExp(`(?<![0-9])[1-9][0-9]{5}${SEP}([0-9]{8})${SEP}[0-9]{3}[0-9Xx](?![0-9])`, 'g');
const MOBILE = new RegExp(`(?<![0-9])(?:(?:\\+|00)?86${SEP})?1[3-9][0-9]${SEP}[0-9]{4}${SEP}[0-9]{4}(?![0-9])`);

function plausibleBirth(digits) {
  const y = Number(digits.slice(0, 4)); const m = Number(digits.slice(4, 6)); const d = Number(digits.slice(6));
  const date = new Date(Date.UTC(y, m - 1, d));
  return y >= 1900 && y <= 2100 && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

export function findPii(text) {
  const norm = String(text).normalize('NFKC');
  for (const m of norm.matchAll(NATIONAL_ID)) if (plausibleBirth(m[1])) return 'national_id';
  return MOBILE.test(norm) ? 'mobile' : null;
}

const PII = {national_id: '身份证号', mobile: '手机号'};
const piiMessage = (kind) => `疑似${PII[kind]}：不得记录患者身份信息，请删除。`;

function present(v) { return !(v === undefined || v === null || (typeof v === 'string' && v.trim() === '')); }

/** Errors of one field's value against its catalogue spec: [{field, message}] with `fields.<name>`. */
function checkField(spec, value) {
  const field = `fields.${spec.name}`;
  if (!present(value)) return spec.required ? [{field, message: `请填写「${spec.label_zh}」`}] : [];
  const out = (message) => [{field, message}];
  if (spec.type === 'int' || spec.type === 'number') {
    const n = Number(value);
    if (!Number.isFinite(n)) return out(`「${spec.label_zh}」必须是数字`);
    if (spec.type === 'int' && !Number.isInteger(n)) return out(`「${spec.label_zh}」必须是整数`);
    if (spec.minimum != null && n < spec.minimum) return out(`「${spec.label_zh}」不能小于 ${spec.minimum}`);
    if (spec.maximum != null && n > spec.maximum) return out(`「${spec.label_zh}」不能大于 ${spec.maximum}`);
    return [];
  }
  if (spec.type === 'enum') {
    return spec.choices.some((c) => c.value === value) ? [] : out(`请选择「${spec.label_zh}」`);
  }
  if (spec.type === 'multi_enum') {
    const ok = Array.isArray(value) && value.every((v) => spec.choices.some((c) => c.value === v));
    return ok ? [] : out(`「${spec.label_zh}」的选项无效`);
  }
  if (spec.type === 'text' || spec.type === 'record_number') {
    const text = String(value).trim();
    if (spec.max_length && text.length > spec.max_length) return out(`「${spec.label_zh}」最多 ${spec.max_length} 个字`);
    if (spec.pattern && !new RegExp(`^(?:${spec.pattern.replace(/^\^|\$$/g, '')})$`).test(text)) {
      return out(`「${spec.label_zh}」格式不对`);
    }
    if (spec.type === 'text') {
      const kind = findPii(text);
      if (kind) return out(piiMessage(kind));
    }
    return [];
  }
  if (spec.type === 'time' && !/^(?:[01][0-9]|2[0-3]):[0-5][0-9]$/.test(value)) return out(`「${spec.label_zh}」时间请写成 时:分（24 小时制）`);
  if (spec.type === 'uuid' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    return out(`「${spec.label_zh}」编号格式不对`);
  }
  if (spec.type === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) return out(`「${spec.label_zh}」日期格式不对`);
  return [];
}

const num = (v) => (present(v) && Number.isInteger(Number(v)) ? Number(v) : 0);

/** The catalogue's cross-field rules (validation.py CROSS_RULES). */
function crossRules(type, fields, failed) {
  const errs = [];
  const clear = (...names) => names.every((n) => !failed.has(`fields.${n}`));
  if (type === 'clinic' && clear('patients_first_visit', 'patients_follow_up', 'difficult_cases', 'referred_up', 'referred_down')) {
    const total = num(fields.patients_first_visit) + num(fields.patients_follow_up);
    if (total < 1) errs.push({field: 'fields.patients_first_visit', message: '一次门诊至少要有一名初诊或复诊患者'});
    else for (const n of ['difficult_cases', 'referred_up', 'referred_down']) {
      if (num(fields[n]) > total) errs.push({field: `fields.${n}`, message: `不能超过本次门诊的 ${total} 名患者`});
    }
  }
  if (type === 'surgery' && clear('role', 'local_surgeon_role') && fields.role === 'primary' && fields.local_surgeon_role === 'primary') {
    errs.push({field: 'fields.local_surgeon_role', message: '您和本地术者不能都是主刀'});
  }
  if (type === 'attendance' && clear('check_in', 'check_out') && present(fields.check_in) && present(fields.check_out)
      && fields.check_out <= fields.check_in) {
    errs.push({field: 'fields.check_out', message: '签退时间必须晚于签到时间'});
  }
  if (type === 'management' && !Object.values(fields).some(present)) {
    errs.push({field: 'fields', message: '请至少填写一项数字或工作摘要'});
  }
  return errs;
}

/** The work-date rules (rules.py check_work_date): inside the deployment's window, not after tomorrow. */
function checkDate(workDate, deployment) {
  if (!workDate) return [{field: 'work_date', message: '请选择日期'}];
  const errs = [];
  if (deployment?.editable_from && workDate < deployment.editable_from) {
    errs.push({field: 'work_date', message: `早于派驻开始日期（${deployment.editable_from}）`});
  }
  if (deployment?.editable_until && workDate > deployment.editable_until) {
    errs.push({field: 'work_date', message: `晚于本次派驻可填报的最后一天（${deployment.editable_until}）`});
  }
  if (workDate > addDays(localDate(), 1)) errs.push({field: 'work_date', message: '不能填报未来的日期'});
  return errs;
}

/** Every client-side error of an entry about to be saved. */
export function validateEntry(type, entry, deployment) {
  const errs = [...checkDate(entry.work_date, deployment)];
  if (!deployment) errs.push({field: 'deployment_id', message: '没有可填报的派驻'});
  for (const spec of type.fields) errs.push(...checkField(spec, entry.fields[spec.name]));
  const failed = new Set(errs.map((e) => e.field));
  errs.push(...crossRules(type.key, entry.fields, failed));
  if (present(entry.note)) {
    const kind = findPii(entry.note);
    if (kind) errs.push({field: 'note', message: piiMessage(kind)});
  }
  return errs;
}

/** A form value as the server wants it (numbers as numbers, empty optional values left out). */
export function cleanValue(spec, raw) {
  if (!present(raw)) return undefined;
  if (spec.type === 'int' || spec.type === 'number') return Number.isFinite(Number(raw)) ? Number(raw) : raw;
  if (spec.type === 'bool') return raw === true || raw === 'true';
  if (spec.type === 'text') return String(raw).trim();
  return raw;
}

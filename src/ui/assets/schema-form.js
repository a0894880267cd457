// A form generated from a JSON Schema (zod's z.toJSONSchema output): numbers, strings, enums, booleans, nested objects; raw JSON for the rest.
import { h } from './dom.js';

const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Builds the fields of an object schema. Returns `{ element, read, write }`: `read()` gives
 * `{ value, errors }` (errors: messages naming the field), `write(value)` fills the fields.
 * A field left empty is left out of the value, so the server applies its default.
 */
export function schemaForm(schema, idPrefix = 'field') {
  if (!isObjectSchema(schema)) return null;
  const root = objectFields(schema, [], idPrefix);
  return { element: h('div', { class: 'schema-form' }, root.elements), read: () => readObject(root), write: (v) => root.write(v) };
}

export function isObjectSchema(schema) {
  return schema?.type === 'object' && schema.properties !== null && typeof schema.properties === 'object';
}

/** Fields are "needed" when the schema requires them and gives no default (zod lists defaulted keys as required). */
function needed(schema, name) {
  const prop = schema.properties[name];
  return (schema.required ?? []).includes(name) && prop?.default === undefined;
}

function objectFields(schema, path, idPrefix) {
  const fields = Object.entries(schema.properties).map(([name, prop]) => field(prop, [...path, name], needed(schema, name), idPrefix));
  return {
    fields,
    elements: fields.map((f) => f.element),
    write(value) {
      for (const f of fields) f.write(value && typeof value === 'object' ? value[f.name] : undefined);
    },
  };
}

function readObject(group) {
  const value = {};
  const errors = [];
  for (const f of group.fields) {
    const r = f.read();
    errors.push(...r.errors);
    if (r.value !== undefined) value[f.name] = r.value;
  }
  return { value, errors };
}

function hint(prop) {
  const parts = [];
  if (prop.description) parts.push(prop.description);
  // zod's safe-integer bounds (±2^53) say nothing to a person: only real limits are shown.
  const bounded = (v) => typeof v === 'number' && Math.abs(v) < SAFE;
  const lo = bounded(prop.minimum) ? `at least ${fmt(prop.minimum)}` : bounded(prop.exclusiveMinimum) ? `more than ${fmt(prop.exclusiveMinimum)}` : null;
  const hi = bounded(prop.maximum) ? `at most ${fmt(prop.maximum)}` : bounded(prop.exclusiveMaximum) ? `less than ${fmt(prop.exclusiveMaximum)}` : null;
  if (bounded(prop.minimum) && bounded(prop.maximum)) parts.push(`${fmt(prop.minimum)} to ${fmt(prop.maximum)}`);
  else parts.push(...[lo, hi].filter(Boolean));
  if (prop.minLength > 0) parts.push(`at least ${fmt(prop.minLength)} characters`);
  if (prop.default !== undefined) parts.push(`default ${JSON.stringify(prop.default)}`);
  return parts.join(' · ');
}

function fmt(n) {
  return Number(n).toLocaleString('en-US');
}

function field(prop, path, required, idPrefix) {
  const name = path[path.length - 1];
  const key = path.join('.');
  const id = `${idPrefix}-${path.join('-')}`;
  const hintId = `${id}-hint`;
  const hintText = hint(prop);
  const f = {
    prop,
    path,
    required,
    idPrefix,
    name,
    key,
    label: h('label', { for: id }, name, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    hintEl: hintText ? h('p', { class: 'hint', id: hintId }, hintText) : null,
    common: { id, name: key, 'data-testid': `field-${key}`, 'aria-describedby': hintText ? hintId : undefined, 'aria-required': required ? 'true' : undefined },
  };
  if (isObjectSchema(prop)) return objectField(f);
  const type = Array.isArray(prop.type) ? prop.type.find((t) => t !== 'null') : prop.type;
  if (Array.isArray(prop.enum) && prop.enum.every((v) => typeof v === 'string')) return enumField(f);
  if (type === 'integer' || type === 'number') return numberField(f, type);
  if (type === 'boolean') return booleanField(f);
  if (type === 'string') return stringField(f);
  // Arrays, unions and anything else: a small JSON editor for this field.
  return jsonField(f);
}

/** A nested object: a fieldset of its own fields. */
function objectField({ prop, path, required, idPrefix, name, key, hintEl }) {
  const group = objectFields(prop, path, idPrefix);
  return {
    name,
    element: h('fieldset', { class: 'nested', 'data-testid': `field-${key}` }, h('legend', {}, name, required ? ' *' : ' (optional)'), hintEl, h('div', { class: 'field-grid' }, group.elements)),
    read() {
      const r = readObject(group);
      // An optional group left entirely empty is left out, and so are its fields' "required" errors.
      if (!required && Object.keys(r.value).length === 0) return { value: undefined, errors: [] };
      return r;
    },
    write: (v) => group.write(v),
  };
}

function enumField({ prop, required, name, key, label, hintEl, common }) {
  const select = h('select', common, required ? h('option', { value: '' }, 'choose…') : h('option', { value: '' }, prop.default !== undefined ? `default (${prop.default})` : '—'), prop.enum.map((v) => h('option', { value: v }, v)));
  return simple(name, key, label, hintEl, select, required, (raw) => (raw === '' ? undefined : raw), (v) => (v === undefined ? '' : String(v)));
}

function numberField({ prop, required, name, key, label, hintEl, common }, type) {
  const input = h('input', {
    ...common,
    type: 'number',
    inputmode: type === 'integer' ? 'numeric' : 'decimal',
    step: type === 'integer' ? '1' : 'any',
    min: prop.minimum !== undefined && Math.abs(prop.minimum) < SAFE ? prop.minimum : undefined,
    max: prop.maximum !== undefined && Math.abs(prop.maximum) < SAFE ? prop.maximum : undefined,
    placeholder: prop.default !== undefined ? String(prop.default) : '',
  });
  return simple(name, key, label, hintEl, input, required, (raw) => {
    if (raw.trim() === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`${key}: “${raw}” is not a number`);
    if (type === 'integer' && !Number.isInteger(n)) throw new Error(`${key}: expected an integer, got ${raw}`);
    return n;
  }, (v) => (v === undefined || v === null ? '' : String(v)));
}

function booleanField({ prop, name, label, hintEl, common }) {
  const input = h('input', { ...common, 'aria-required': undefined, type: 'checkbox', checked: prop.default === true });
  return {
    name,
    element: h('div', { class: 'field checkbox' }, h('div', { class: 'check-row' }, input, label), hintEl),
    read: () => ({ value: input.checked, errors: [] }),
    write: (v) => {
      input.checked = v === undefined ? prop.default === true : Boolean(v);
    },
  };
}

function stringField({ prop, required, name, key, label, hintEl, common }) {
  const long = (prop.maxLength ?? 0) > 200 || /text/i.test(name);
  const input = long
    ? h('textarea', { ...common, rows: '4', maxlength: prop.maxLength && prop.maxLength < 1e7 ? prop.maxLength : undefined, placeholder: prop.default ?? '' })
    : h('input', { ...common, type: 'text', maxlength: prop.maxLength, placeholder: prop.default ?? '' });
  return simple(name, key, label, hintEl, input, required, (raw) => (raw === '' ? undefined : raw), (v) => (v === undefined || v === null ? '' : String(v)));
}

function jsonField({ prop, required, name, key, label, hintEl, common }) {
  const area = h('textarea', { ...common, rows: '3', class: 'mono', placeholder: prop.default !== undefined ? JSON.stringify(prop.default) : 'JSON' });
  return simple(name, key, label, hintEl ?? h('p', { class: 'hint' }, 'JSON'), area, required, (raw) => {
    if (raw.trim() === '') return undefined;
    try {
      return JSON.parse(raw);
    } catch (err) {
      throw new Error(`${key}: not valid JSON (${err.message})`);
    }
  }, (v) => (v === undefined ? '' : JSON.stringify(v, null, 2)));
}

function simple(name, key, label, hintEl, input, required, parse, show) {
  return {
    name,
    element: h('div', { class: 'field' }, label, input, hintEl),
    read() {
      try {
        const value = parse(input.value);
        if (value === undefined && required) return { value, errors: [`${key} is required`] };
        return { value, errors: [] };
      } catch (err) {
        return { value: undefined, errors: [err.message] };
      }
    },
    write(v) {
      input.value = show(v);
    },
  };
}

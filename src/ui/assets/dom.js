// DOM building and formatting helpers shared by the dashboard's pages (text is always set as text, never as HTML).

/**
 * Creates an element. `attrs`: `class`, `data-*`, `aria-*` and other attributes as strings,
 * `on*` as listeners, `hidden`/`disabled`/`checked`/`value` as properties.
 * Children: nodes, strings (text), or null/false (skipped); arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Like h(), for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const PROPS = new Set(['hidden', 'disabled', 'checked', 'value', 'selected', 'open', 'indeterminate']);

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const DASH = '—';

/** `v`, or a dash for null/undefined/NaN. */
export function orDash(v, fmt = String) {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? DASH : fmt(v);
}

/** 1234567 → "1,234,567"; 12.345 → "12.3". */
export function num(v, digits = 0) {
  if (v === null || v === undefined || Number.isNaN(v)) return DASH;
  return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A duration in ms as "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A timestamp as local "2024-05-01 12:34:56". */
export function timestamp(ms) {
  if (ms === null || ms === undefined) return DASH;
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "5 s ago", "3 min ago", "2 h ago", then the date. */
export function ago(ms, now = Date.now()) {
  if (ms === null || ms === undefined) return DASH;
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return timestamp(ms).slice(0, 10);
}

/** Bytes as "512 B", "1.5 KiB", "3.2 MiB". */
export function bytes(n) {
  if (n === null || n === undefined) return DASH;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Colours that read on white and apart from each other. */
const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#db2777', '#65a30d', '#4f46e5', '#ea580c', '#0d9488', '#a16207'];
const assigned = new Map();

/**
 * A node's colour, the same everywhere on the page (ring, table, charts) for as long as the page
 * lives: the next palette colour, in the order nodes are first seen, so neighbours never collide.
 */
export function colourFor(id) {
  let c = assigned.get(id);
  if (c === undefined) assigned.set(id, (c = PALETTE[assigned.size % PALETTE.length]));
  return c;
}

/** A status badge. */
export function badge(status, testid) {
  return h('span', { class: `badge badge-${String(status).replace(/[^a-z-]/g, '')}`, 'data-testid': testid }, String(status));
}

/**
 * A progress bar of a job: done (and failed) out of total. `total` null means the split is still
 * running: the bar shows the tasks placed so far, striped.
 */
export function progressBar(progress, status, testid = 'job-progress') {
  const p = progress ?? { total: null, placed: 0, done: 0, failed: 0 };
  const total = p.total ?? null;
  const finished = status === 'completed';
  const pct = finished ? 100 : total ? Math.min(100, Math.floor((p.done / total) * 100)) : 0;
  const failedPct = total ? Math.min(100 - pct, (p.failed / total) * 100) : 0;
  const label = total === null ? `${num(p.done)} of ${num(p.placed)}+ tasks` : `${num(p.done)} / ${num(total)} tasks`;
  return h(
    'div',
    {
      class: `progress${total === null && !finished ? ' progress-open' : ''} progress-${status}`,
      role: 'progressbar',
      'aria-valuemin': '0',
      'aria-valuemax': '100',
      'aria-valuenow': String(pct),
      'aria-valuetext': `${pct}% (${label})`,
      'data-testid': testid,
      'data-percent': String(pct),
    },
    h('div', { class: 'progress-fill', style: `width:${pct}%` }),
    failedPct > 0 ? h('div', { class: 'progress-failed-part', style: `left:${pct}%;width:${failedPct}%` }) : null,
    h('span', { class: 'progress-label' }, `${pct}%`),
  );
}

/** JSON, pretty-printed and cut at `max` characters. */
export function prettyJson(value, max = 200_000) {
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  return text.length > max ? `${text.slice(0, max)}\n… (${num(text.length - max)} more characters)` : text;
}

/** Runs `fn` at most once per `ms`, with the last arguments. */
export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// Schedules: GET /v1/schedules refreshed while shown, each with its next run times and the jobs its last ticks started (links), paused and resumed from here.
import { api } from './api.js';
import { DASH, ago, badge, h, replace, timestamp } from './dom.js';
import { setConnection } from './shell.js';

const REFRESH_MS = 2000;
/** Next runs and started jobs shown per schedule. */
const SHOWN = 3;

export function renderSchedules(main) {
  const el = {
    error: h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'schedules-error' }),
    info: h('p', { class: 'muted small', role: 'status', 'aria-live': 'polite', 'data-testid': 'schedules-info' }),
    tbody: h('tbody', {}),
  };
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Schedules')),
    h('p', { class: 'muted small' }, 'Jobs run on a cron schedule: the scheduler leader fires each tick once. Create one with ', h('code', {}, 'POST /v1/schedules'), ' or ', h('code', {}, 'ringpool schedule add'), '.'),
    el.error,
    h(
      'div',
      { class: 'card flush' },
      h(
        'table',
        { class: 'table', 'data-testid': 'schedules-table' },
        h('thead', {}, h('tr', {}, ['Schedule', 'Type', 'Cron', 'State', 'Next runs', 'Jobs started', ''].map((t) => h('th', { scope: 'col' }, t)))),
        el.tbody,
      ),
      h('div', { class: 'pager' }, el.info),
    ),
  );
  let stopped = false;
  let timer;
  const load = async () => {
    clearTimeout(timer);
    try {
      const { schedules } = await api('/v1/schedules');
      if (stopped) return;
      el.error.hidden = true;
      setConnection('ok');
      replace(el.tbody, schedules.length === 0 ? h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No schedules yet.')) : schedules.map((s) => row(s, load, el.error)));
      el.info.textContent = `${schedules.length} schedule${schedules.length === 1 ? '' : 's'}`;
    } catch (err) {
      if (stopped) return;
      setConnection('error', err.message);
      showError(el.error, err);
    }
    if (!stopped) timer = setTimeout(load, REFRESH_MS);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
    setConnection('idle');
  };
}

/** One schedule: its next runs, the jobs its last ticks started (links to them), and a pause or resume button. */
function row(s, reload, error) {
  const action = s.paused ? 'resume' : 'pause';
  const toggle = h('button', {
    type: 'button',
    'data-testid': `schedule-${action}`,
    onclick: async () => {
      toggle.disabled = true;
      try {
        await api(`/v1/schedules/${encodeURIComponent(s.id)}/${action}`, { method: 'POST' });
        await reload();
      } catch (err) {
        showError(error, err);
        toggle.disabled = false;
      }
    },
  }, s.paused ? 'Resume' : 'Pause');
  return h(
    'tr',
    { 'data-testid': 'schedule-row', 'data-id': s.id },
    h('td', {}, h('code', {}, s.id)),
    h('td', {}, s.job),
    h('td', {}, h('code', {}, s.cron), h('span', { class: 'muted small' }, ` ${s.timezone}`)),
    h('td', {}, badge(s.paused ? 'paused' : 'active', 'schedule-state')),
    h('td', { 'data-testid': 'schedule-next' }, s.nextRuns.length === 0 ? DASH : h('ul', { class: 'plain' }, s.nextRuns.slice(0, SHOWN).map((t) => h('li', {}, timestamp(t))))),
    h('td', { 'data-testid': 'schedule-runs' }, s.runs.length === 0 ? DASH : h('ul', { class: 'plain' }, s.runs.slice(0, SHOWN).map((r) => h('li', {}, h('a', { href: `#/jobs/${encodeURIComponent(r.jobId)}` }, r.jobId), h('span', { class: 'muted small' }, ` ${ago(r.tick)}`))))),
    h('td', {}, toggle),
  );
}

function showError(el, err) {
  el.textContent = err.message;
  el.hidden = false;
}

// Jobs: one page of GET /v1/jobs at a time, filtered by status and type, searched with ?q=, paged by cursor.
import { api, query } from './api.js';
import { jobTypes } from './job-types.js';
import { DASH, ago, badge, debounce, duration, h, progressBar, replace, timestamp } from './dom.js';
import { setConnection } from './shell.js';

const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'];
const PAGE_SIZE = 25;
const REFRESH_MS = 2000;

/** Cursors of the pages before the current one, per filter: "Newer" goes back through them. */
const cursorStacks = new Map();

export function renderJobs(main, params) {
  const state = {
    status: params.get('status') ?? '',
    job: params.get('job') ?? '',
    q: params.get('q') ?? '',
    cursor: params.get('cursor') ?? '',
  };
  const filterKey = () => JSON.stringify([state.status, state.job, state.q]);
  const stack = () => {
    if (!cursorStacks.has(filterKey())) cursorStacks.set(filterKey(), []);
    return cursorStacks.get(filterKey());
  };

  const statusSelect = h('select', { id: 'f-status', 'data-testid': 'jobs-status' }, h('option', { value: '' }, 'any status'), STATUSES.map((st) => h('option', { value: st, selected: st === state.status }, st)));
  const typeSelect = h('select', { id: 'f-type', 'data-testid': 'jobs-type' }, h('option', { value: '' }, 'any type'));
  const search = h('input', { id: 'f-q', type: 'search', placeholder: 'job id prefix or words of the input', value: state.q, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'jobs-search' });
  const info = h('p', { class: 'muted small', role: 'status', 'aria-live': 'polite', 'data-testid': 'jobs-info' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'jobs-error' });
  const tbody = h('tbody', {});
  const newer = h('button', { type: 'button', 'data-testid': 'jobs-newer' }, '← Newer');
  const older = h('button', { type: 'button', 'data-testid': 'jobs-older' }, 'Older →');

  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Jobs'), h('a', { class: 'button primary', href: '#/submit' }, 'Submit a job')),
    h(
      'form',
      { class: 'filters card', role: 'search', 'aria-label': 'Filter jobs', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field grow' }, h('label', { for: 'f-q' }, 'Search'), search),
      h('div', { class: 'field' }, h('label', { for: 'f-status' }, 'Status'), statusSelect),
      h('div', { class: 'field' }, h('label', { for: 'f-type' }, 'Type'), typeSelect),
    ),
    error,
    h(
      'div',
      { class: 'card flush' },
      h(
        'table',
        { class: 'table jobs-table', 'data-testid': 'jobs-table' },
        h('thead', {}, h('tr', {}, ['Job', 'Type', 'Status', 'Progress', 'Duration', 'Created', 'Input'].map((t) => h('th', { scope: 'col', class: t === 'Duration' ? 'num' : undefined }, t)))),
        tbody,
      ),
      h('div', { class: 'pager' }, info, h('div', { class: 'pager-buttons' }, newer, older)),
    ),
  );

  jobTypes()
    .then((types) => {
      for (const t of types) typeSelect.append(h('option', { value: t.name, selected: t.name === state.job }, t.name));
    })
    .catch(() => {});

  let next = null;
  let lastJson = '';
  let timer;
  let stopped = false;
  let controller;

  /** Keeps the filters in the address (without a hashchange: the view stays, focus stays in the box). */
  function syncHash() {
    const hash = `#/jobs${query({ status: state.status, job: state.job, q: state.q, cursor: state.cursor })}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }

  async function load({ quiet = false } = {}) {
    clearTimeout(timer);
    controller?.abort();
    const mine = (controller = new AbortController());
    const started = performance.now();
    if (!quiet) info.textContent = 'Loading…';
    try {
      const page = await api(`/v1/jobs${query({ limit: PAGE_SIZE, status: state.status, job: state.job, q: state.q, cursor: state.cursor })}`, { signal: mine.signal });
      if (stopped || mine !== controller) return;
      error.hidden = true;
      setConnection('ok');
      next = page.next ?? null;
      const json = JSON.stringify(page.jobs);
      if (json !== lastJson || !quiet) {
        lastJson = json;
        renderRows(tbody, page.jobs, state);
      }
      const pageNo = stack().length + 1;
      info.textContent = page.jobs.length === 0 ? (pageNo > 1 ? 'No more jobs.' : 'No jobs match.') : `Page ${pageNo} · ${page.jobs.length} job${page.jobs.length === 1 ? '' : 's'}${next === null ? '' : ' · more below'}`;
      newer.disabled = state.cursor === '';
      older.disabled = next === null;
    } catch (err) {
      if (stopped || err.name === 'AbortError') return;
      error.hidden = false;
      error.textContent = err.status === 400 && state.q ? `Search failed: ${err.message}` : `Could not load the jobs: ${err.message}`;
      info.textContent = '';
      setConnection('error', err.message);
      if (err.status === 401) return;
    }
    // A slow page (a filter the server answers by scanning) is refreshed less often, and a hidden tab not at all.
    const delay = Math.max(REFRESH_MS, (performance.now() - started) * 10);
    if (!stopped) timer = setTimeout(function refresh() {
      if (document.hidden) timer = setTimeout(refresh, REFRESH_MS);
      else load({ quiet: true });
    }, delay);
  }

  const restart = () => {
    state.cursor = '';
    cursorStacks.set(filterKey(), []);
    syncHash();
    load();
  };
  statusSelect.addEventListener('change', () => {
    state.status = statusSelect.value;
    restart();
  });
  typeSelect.addEventListener('change', () => {
    state.job = typeSelect.value;
    restart();
  });
  const searchNow = () => {
    const q = search.value.trim();
    if (q === state.q) return;
    state.q = q;
    restart();
  };
  search.addEventListener('input', debounce(searchNow, 250));
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') searchNow();
  });
  older.addEventListener('click', () => {
    if (next === null) return;
    stack().push(state.cursor);
    state.cursor = String(next);
    syncHash();
    load();
  });
  newer.addEventListener('click', () => {
    state.cursor = stack().pop() ?? '';
    syncHash();
    load();
  });

  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
    controller?.abort();
    setConnection('idle');
  };
}

function jobDuration(job, now = Date.now()) {
  if (job.startedAt === null || job.startedAt === undefined) return job.status === 'queued' ? h('span', { class: 'muted' }, `waiting ${duration(now - job.createdAt)}`) : DASH;
  const end = job.finishedAt ?? now;
  return duration(end - job.startedAt);
}

function inputPreview(input) {
  const text = JSON.stringify(input) ?? '';
  return text.length > 64 ? `${text.slice(0, 63)}…` : text;
}

function renderRows(tbody, jobs, state) {
  if (jobs.length === 0) {
    const what = state.q ? ` for “${state.q}”` : '';
    replace(tbody, h('tr', {}, h('td', { colspan: '7', class: 'empty' }, `No jobs${what}.`)));
    return;
  }
  replace(
    tbody,
    jobs.map((job) =>
      h(
        'tr',
        { 'data-testid': 'job-row', 'data-job-id': job.id, 'data-status': job.status },
        h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'mono', 'data-testid': 'job-link' }, job.id)),
        h('td', {}, job.job),
        h('td', {}, badge(job.status, 'job-row-status')),
        h('td', { class: 'progress-cell' }, progressBar(job.progress, job.status, 'job-row-progress')),
        h('td', { class: 'num' }, jobDuration(job)),
        h('td', { title: timestamp(job.createdAt) }, ago(job.createdAt)),
        h('td', { class: 'mono muted input-preview', title: JSON.stringify(job.input) ?? '' }, inputPreview(job.input)),
      ),
    ),
  );
}

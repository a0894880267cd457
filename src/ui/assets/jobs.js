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
  const page = new JobsPage(main, {
    status: params.get('status') ?? '',
    job: params.get('job') ?? '',
    q: params.get('q') ?? '',
    cursor: params.get('cursor') ?? '',
  });
  page.start();
  return () => page.stop();
}

/** The filters, the table and the pager, laid out once. */
function layout(main, state) {
  const el = {
    statusSelect: h('select', { id: 'f-status', 'data-testid': 'jobs-status' }, h('option', { value: '' }, 'any status'), STATUSES.map((st) => h('option', { value: st, selected: st === state.status }, st))),
    typeSelect: h('select', { id: 'f-type', 'data-testid': 'jobs-type' }, h('option', { value: '' }, 'any type')),
    search: h('input', { id: 'f-q', type: 'search', placeholder: 'job id prefix or words of the input', value: state.q, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'jobs-search' }),
    info: h('p', { class: 'muted small', role: 'status', 'aria-live': 'polite', 'data-testid': 'jobs-info' }),
    error: h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'jobs-error' }),
    tbody: h('tbody', {}),
    newer: h('button', { type: 'button', 'data-testid': 'jobs-newer' }, '← Newer'),
    older: h('button', { type: 'button', 'data-testid': 'jobs-older' }, 'Older →'),
  };
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Jobs'), h('a', { class: 'button primary', href: '#/submit' }, 'Submit a job')),
    h(
      'form',
      { class: 'filters card', role: 'search', 'aria-label': 'Filter jobs', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field grow' }, h('label', { for: 'f-q' }, 'Search'), el.search),
      h('div', { class: 'field' }, h('label', { for: 'f-status' }, 'Status'), el.statusSelect),
      h('div', { class: 'field' }, h('label', { for: 'f-type' }, 'Type'), el.typeSelect),
    ),
    el.error,
    h(
      'div',
      { class: 'card flush' },
      h(
        'table',
        { class: 'table jobs-table', 'data-testid': 'jobs-table' },
        h('thead', {}, h('tr', {}, ['Job', 'Type', 'Status', 'Progress', 'Duration', 'Created', 'Input'].map((t) => h('th', { scope: 'col', class: t === 'Duration' ? 'num' : undefined }, t)))),
        el.tbody,
      ),
      h('div', { class: 'pager' }, el.info, h('div', { class: 'pager-buttons' }, el.newer, el.older)),
    ),
  );
  return el;
}

/** The jobs page: one page of jobs at a time, refreshed while shown; filters and the page live in the address. */
class JobsPage {
  #state;
  #el;
  #next = null;
  #lastJson = '';
  #timer;
  #stopped = false;
  #controller;

  constructor(main, state) {
    this.#state = state;
    this.#el = layout(main, state);
  }

  start() {
    const { typeSelect } = this.#el;
    jobTypes()
      .then((types) => {
        for (const t of types) typeSelect.append(h('option', { value: t.name, selected: t.name === this.#state.job }, t.name));
      })
      .catch(() => {});
    this.#listen();
    this.#load();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#controller?.abort();
    setConnection('idle');
  }

  #listen() {
    const { statusSelect, typeSelect, search, older, newer } = this.#el;
    const state = this.#state;
    statusSelect.addEventListener('change', () => {
      state.status = statusSelect.value;
      this.#restart();
    });
    typeSelect.addEventListener('change', () => {
      state.job = typeSelect.value;
      this.#restart();
    });
    const searchNow = () => {
      const q = search.value.trim();
      if (q === state.q) return;
      state.q = q;
      this.#restart();
    };
    search.addEventListener('input', debounce(searchNow, 250));
    search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') searchNow();
    });
    older.addEventListener('click', () => this.#older());
    newer.addEventListener('click', () => this.#newer());
  }

  #filterKey() {
    return JSON.stringify([this.#state.status, this.#state.job, this.#state.q]);
  }

  /** Cursors of the pages before this one, for the current filters. */
  #stack() {
    if (!cursorStacks.has(this.#filterKey())) cursorStacks.set(this.#filterKey(), []);
    return cursorStacks.get(this.#filterKey());
  }

  /** New filters: back to the first page. */
  #restart() {
    this.#state.cursor = '';
    cursorStacks.set(this.#filterKey(), []);
    this.#syncHash();
    this.#load();
  }

  #older() {
    if (this.#next === null) return;
    this.#stack().push(this.#state.cursor);
    this.#state.cursor = String(this.#next);
    this.#syncHash();
    this.#load();
  }

  #newer() {
    this.#state.cursor = this.#stack().pop() ?? '';
    this.#syncHash();
    this.#load();
  }

  /** Keeps the filters in the address (without a hashchange: the view stays, focus stays in the box). */
  #syncHash() {
    const { status, job, q, cursor } = this.#state;
    const hash = `#/jobs${query({ status, job, q, cursor })}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }

  async #load({ quiet = false } = {}) {
    const { info, error } = this.#el;
    const state = this.#state;
    clearTimeout(this.#timer);
    this.#controller?.abort();
    const mine = (this.#controller = new AbortController());
    const started = performance.now();
    if (!quiet) info.textContent = 'Loading…';
    try {
      const page = await api(`/v1/jobs${query({ limit: PAGE_SIZE, status: state.status, job: state.job, q: state.q, cursor: state.cursor })}`, { signal: mine.signal });
      if (this.#stopped || mine !== this.#controller) return;
      error.hidden = true;
      setConnection('ok');
      this.#show(page, quiet);
    } catch (err) {
      if (this.#stopped || err.name === 'AbortError') return;
      error.hidden = false;
      error.textContent = err.status === 400 && state.q ? `Search failed: ${err.message}` : `Could not load the jobs: ${err.message}`;
      info.textContent = '';
      setConnection('error', err.message);
      if (err.status === 401) return;
    }
    // A slow page (a filter the server answers by scanning) is refreshed less often, and a hidden tab not at all.
    const delay = Math.max(REFRESH_MS, (performance.now() - started) * 10);
    const refresh = () => {
      if (document.hidden) this.#timer = setTimeout(refresh, REFRESH_MS);
      else this.#load({ quiet: true });
    };
    if (!this.#stopped) this.#timer = setTimeout(refresh, delay);
  }

  /** The rows (redrawn only when they changed, or on a load the user asked for), the page line and the pager. */
  #show(page, quiet) {
    const { info, tbody, newer, older } = this.#el;
    this.#next = page.next ?? null;
    const json = JSON.stringify(page.jobs);
    if (json !== this.#lastJson || !quiet) {
      this.#lastJson = json;
      renderRows(tbody, page.jobs, this.#state);
    }
    const pageNo = this.#stack().length + 1;
    info.textContent = page.jobs.length === 0 ? (pageNo > 1 ? 'No more jobs.' : 'No jobs match.') : `Page ${pageNo} · ${page.jobs.length} job${page.jobs.length === 1 ? '' : 's'}${this.#next === null ? '' : ' · more below'}`;
    newer.disabled = this.#state.cursor === '';
    older.disabled = this.#next === null;
  }
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
        h('td', {}, badge(job.status, 'job-row-status'), job.partial ? [' ', badge('partial', 'job-row-partial')] : null),
        h('td', { class: 'progress-cell' }, progressBar(job.progress, job.status, 'job-row-progress')),
        h('td', { class: 'num' }, jobDuration(job)),
        h('td', { title: timestamp(job.createdAt) }, ago(job.createdAt)),
        h('td', { class: 'mono muted input-preview', title: JSON.stringify(job.input) ?? '' }, inputPreview(job.input)),
      ),
    ),
  );
}

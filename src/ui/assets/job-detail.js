// Job detail: live progress over server-sent events, timing, errors with stacks, the result, cancel and retry.
import { ApiError, api, eventsUrl } from './api.js';
import { DASH, badge, duration, h, num, prettyJson, progressBar, replace, timestamp } from './dom.js';
import { setConnection } from './shell.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const POLL_MS = 1000;

export function renderJobDetail(main, id) {
  const head = h('div', { class: 'page-head' });
  const actionError = h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'job-action-error' });
  const actionInfo = h('p', { class: 'info', role: 'status', hidden: true, 'data-testid': 'job-action-info' });
  const progressCard = h('section', { class: 'card span-2', 'aria-labelledby': 'h-progress' });
  const timingCard = h('section', { class: 'card', 'aria-labelledby': 'h-timing' });
  const inputCard = h('section', { class: 'card', 'aria-labelledby': 'h-input' });
  const errorCard = h('section', { class: 'card span-2 card-error', 'aria-labelledby': 'h-error', hidden: true, 'data-testid': 'job-error-card' });
  const resultCard = h('section', { class: 'card span-2', 'aria-labelledby': 'h-result', hidden: true });
  const loadError = h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'job-load-error' });

  replace(
    main,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/jobs' }, 'Jobs'), ' / ', h('span', { class: 'mono' }, id)),
    head,
    loadError,
    actionError,
    actionInfo,
    h('div', { class: 'grid' }, progressCard, errorCard, resultCard, timingCard, inputCard),
  );

  let job = null;
  let stopped = false;
  let events = null;
  let pollTimer;
  let tick;
  let resultShownFor = null;
  let objectUrl = null;
  let confirming = false;
  let sseFailed = false;

  function render() {
    if (job === null) return;
    renderHead();
    replace(
      progressCard,
      h('h2', { id: 'h-progress' }, 'Progress'),
      progressBar(job.progress, job.status, 'job-progress'),
      h(
        'dl',
        { class: 'counts' },
        count('Tasks', job.progress?.total ?? null, job.progress?.total === null ? 'still splitting' : ''),
        count('Placed', job.progress?.placed),
        count('Done', job.progress?.done),
        count('Failed', job.progress?.failed),
        count('Duplicates', job.progress?.duplicates, 'results dropped: first write wins'),
        count('Retried', job.retriedTasks ?? 0, 'tasks whose result came from a retry'),
      ),
      h('h3', {}, 'Tasks per node'),
      h(
        'ul',
        { class: 'per-node', 'data-testid': 'job-tasks-per-node' },
        ...Object.entries(job.tasksPerNode ?? {}).map(([node, n]) => h('li', { 'data-node-id': node }, h('span', { class: 'mono' }, node), ` ${n}`)),
      ),
    );
    renderTiming();
    replace(
      inputCard,
      h('h2', { id: 'h-input' }, 'Input and options'),
      h('h3', {}, 'Input'),
      h('pre', { class: 'code', 'data-testid': 'job-input' }, prettyJson(job.input, 20_000)),
      h('h3', {}, 'Options'),
      h('pre', { class: 'code' }, prettyJson(job.options, 5_000)),
    );
    renderError();
    renderResult();
  }

  function renderHead() {
    const running = !TERMINAL.has(job.status);
    const actions = h('div', { class: 'actions' });
    if (running) {
      if (confirming) {
        actions.append(
          h('span', { class: 'confirm-text' }, 'Stop this job? Queued tasks are dropped, running ones stopped.'),
          h('button', { type: 'button', class: 'danger', 'data-testid': 'job-cancel-confirm', onclick: cancel }, 'Yes, cancel it'),
          h('button', { type: 'button', 'data-testid': 'job-cancel-keep', onclick: () => ((confirming = false), renderHead()) }, 'Keep running'),
        );
      } else {
        actions.append(h('button', { type: 'button', class: 'danger-outline', 'data-testid': 'job-cancel', onclick: () => ((confirming = true), renderHead(), main.querySelector('[data-testid="job-cancel-confirm"]')?.focus()) }, 'Cancel job'));
      }
    }
    if (job.status === 'failed') {
      actions.append(h('button', { type: 'button', class: 'primary', 'data-testid': 'job-retry', onclick: retry }, 'Retry failed tasks'));
    }
    actions.append(h('a', { class: 'button', href: `/v1/jobs/${encodeURIComponent(job.id)}`, target: '_blank', rel: 'noopener' }, 'JSON'));
    replace(
      head,
      h('div', {}, h('h1', {}, h('span', { class: 'muted' }, 'Job '), h('span', { class: 'mono', 'data-testid': 'job-id' }, job.id)), h('p', { class: 'subtitle' }, h('strong', { 'data-testid': 'job-type' }, job.job), ' · ', badge(job.status, 'job-status'))),
      actions,
    );
  }

  function renderTiming() {
    const now = Date.now();
    const t = job.timing ?? {};
    const waited = job.startedAt ? job.startedAt - job.createdAt : TERMINAL.has(job.status) ? null : now - job.createdAt;
    const ran = job.startedAt ? (job.finishedAt ?? (TERMINAL.has(job.status) ? null : now)) - job.startedAt : null;
    replace(
      timingCard,
      h('h2', { id: 'h-timing' }, 'Timing'),
      h(
        'dl',
        { class: 'kv' },
        kv('Created', timestamp(job.createdAt)),
        kv('Started', timestamp(job.startedAt)),
        kv('Finished', timestamp(job.finishedAt)),
        kv('Waited', waited === null ? DASH : duration(waited)),
        kv('Ran', ran === null ? DASH : duration(ran), 'job-duration'),
        kv('Split', t.splitDoneAt && job.startedAt ? duration(t.splitDoneAt - job.startedAt) : DASH, 'job-split-time'),
        kv('Task run time (sum)', t.runMicros ? duration(t.runMicros / 1000) : DASH, 'job-run-time'),
        kv('Queue wait + overhead', t.lastResultAt && job.startedAt && t.runMicros ? duration(Math.max(0, t.lastResultAt - job.startedAt - t.runMicros / 1000 / Math.max(1, Object.keys(job.tasksPerNode ?? {}).length))) : DASH),
        kv('Reduce', reduceTime(t), 'job-reduce-time'),
        kv('Result type', job.resultType ?? 'json'),
      ),
    );
  }

  /** How long the reduce took and where: a job of one queue entry is reduced in its tasks' own thread call on its worker. */
  function reduceTime(t) {
    if (!t.lastResultAt || !job.finishedAt || job.status !== 'completed') return DASH;
    if (t.reducedOn && t.reducedOn !== 'scheduler') return `with its tasks, on ${t.reducedOn}`;
    return `${duration(job.finishedAt - t.lastResultAt)} on the scheduler`;
  }

  function renderError() {
    const taskErrors = job.taskErrors ?? [];
    if (job.error === null && taskErrors.length === 0) {
      errorCard.hidden = true;
      return;
    }
    errorCard.hidden = false;
    const e = job.error;
    replace(
      errorCard,
      h('h2', { id: 'h-error' }, 'Error'),
      e === null
        ? null
        : h(
            'div',
            { class: 'error-block' },
            h('p', {}, h('code', { class: 'error-code', 'data-testid': 'job-error-code' }, e.code ?? 'ERROR'), ' ', h('span', { 'data-testid': 'job-error' }, e.message ?? ''), e.taskIndex !== undefined ? h('span', { class: 'muted' }, ` (task ${e.taskIndex})`) : null),
            e.stack ? h('pre', { class: 'code stack', 'data-testid': 'job-error-stack' }, e.stack) : h('p', { class: 'muted small' }, 'No stack trace was recorded.'),
          ),
      taskErrors.length === 0
        ? null
        : [
            h('h3', {}, `Task errors (${taskErrors.length})`),
            h(
              'ul',
              { class: 'task-errors', 'data-testid': 'task-errors' },
              taskErrors.map((te, i) =>
                h(
                  'li',
                  {},
                  h(
                    'details',
                    { open: i === 0 && e === null },
                    h('summary', {}, h('strong', {}, `task ${te.taskIndex ?? '?'}`), ' ', h('code', {}, te.code ?? 'ERROR'), ' ', te.message ?? ''),
                    te.stack ? h('pre', { class: 'code stack' }, te.stack) : h('p', { class: 'muted small' }, 'No stack trace.'),
                  ),
                ),
              ),
            ),
          ],
    );
  }

  async function renderResult() {
    if (job.status !== 'completed') {
      resultCard.hidden = true;
      return;
    }
    if (resultShownFor === job.id) return;
    resultShownFor = job.id;
    resultCard.hidden = false;
    replace(resultCard, h('h2', { id: 'h-result' }, 'Result'), h('p', { class: 'muted' }, 'Loading…'));
    try {
      const res = await api(`/v1/jobs/${encodeURIComponent(job.id)}/result`);
      if (stopped) return;
      if (res instanceof Blob) {
        if (objectUrl) URL.revokeObjectURL(objectUrl);
        objectUrl = URL.createObjectURL(res);
        replace(resultCard, h('h2', { id: 'h-result' }, 'Result'), h('img', { src: objectUrl, alt: `the ${job.job} image of job ${job.id}`, class: 'result-image', 'data-testid': 'job-result-image' }), h('p', {}, h('a', { href: objectUrl, download: `${job.id}.png` }, 'Download PNG')));
      } else {
        const value = res?.result;
        replace(
          resultCard,
          h('h2', { id: 'h-result' }, 'Result'),
          typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
            ? h('p', { class: 'result-scalar', 'data-testid': 'job-result' }, typeof value === 'number' ? num(value, 12) : String(value))
            : h('pre', { class: 'code result', 'data-testid': 'job-result' }, prettyJson(value)),
        );
      }
    } catch (err) {
      if (stopped) return;
      resultShownFor = null;
      replace(resultCard, h('h2', { id: 'h-result' }, 'Result'), h('p', { class: 'error', role: 'alert' }, err.message));
    }
  }

  async function load() {
    try {
      const fresh = await api(`/v1/jobs/${encodeURIComponent(id)}`);
      if (stopped) return;
      job = fresh;
      loadError.hidden = true;
      setConnection('ok');
      render();
      if (TERMINAL.has(job.status)) stopLive();
    } catch (err) {
      if (stopped) return;
      if (job === null) {
        replace(head, h('h1', {}, 'Job ', h('span', { class: 'mono' }, id)));
      }
      loadError.hidden = false;
      loadError.textContent = err.status === 404 ? err.message : `Could not load the job: ${err.message}`;
      setConnection(err.status === 404 ? 'ok' : 'error', err.message);
    }
  }

  /** Starts following a job that has not ended, unless already following it. */
  function followIfRunning() {
    if (stopped || job === null || TERMINAL.has(job.status) || events !== null || pollTimer !== undefined) return;
    follow();
  }

  /** Follows progress over SSE; if the stream fails once, polls from then on. */
  function follow() {
    stopLive();
    tick = setInterval(() => job && !TERMINAL.has(job.status) && renderTiming(), 1000);
    if (typeof EventSource === 'undefined' || sseFailed) return poll();
    events = new EventSource(eventsUrl(id));
    events.addEventListener('progress', (e) => {
      const data = JSON.parse(e.data);
      if (job === null || stopped) return;
      const wasStatus = job.status;
      job = { ...job, status: data.status, progress: data.progress, error: data.error ?? null };
      setConnection('ok');
      if (wasStatus !== job.status) confirming = false;
      render();
    });
    events.addEventListener('end', () => {
      events?.close();
      events = null;
      load(); // the full record: task errors, finish time, then the result
    });
    events.addEventListener('error', () => {
      if (events === null) return;
      // The stream broke before its end (server restart, proxy, expired token): poll instead.
      events.close();
      events = null;
      sseFailed = true;
      poll();
    });
  }

  function poll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => {
      await load();
      if (!stopped && job !== null && !TERMINAL.has(job.status)) poll();
      else pollTimer = undefined;
    }, POLL_MS);
  }

  function stopLive() {
    events?.close();
    events = null;
    clearTimeout(pollTimer);
    pollTimer = undefined;
    clearInterval(tick);
  }

  async function act(fn, done) {
    actionError.hidden = true;
    actionInfo.hidden = true;
    for (const b of head.querySelectorAll('button')) b.disabled = true;
    try {
      await fn();
      actionInfo.textContent = `${done} at ${timestamp(Date.now()).slice(11)}.`;
      actionInfo.hidden = false;
    } catch (err) {
      actionError.hidden = false;
      actionError.textContent = err instanceof ApiError ? `${err.message}${err.status ? ` (HTTP ${err.status})` : ''}` : String(err);
    } finally {
      confirming = false;
      await load();
      followIfRunning();
    }
  }

  function cancel() {
    return act(() => api(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' }), 'Cancelled');
  }

  function retry() {
    return act(async () => {
      await api(`/v1/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST' });
      resultShownFor = null;
    }, 'The failed tasks were queued again');
  }

  load().then(followIfRunning);
  return () => {
    stopped = true;
    stopLive();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    setConnection('idle');
  };
}

function count(label, value, title) {
  return h('div', { class: 'count', title: title || undefined }, h('dt', {}, label), h('dd', {}, value === null || value === undefined ? DASH : num(value)));
}

function kv(label, value, testid) {
  return h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, value));
}

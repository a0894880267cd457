// Job detail: live progress over server-sent events, timing, errors with stacks, the result, the tasks' log lines, the webhook's delivery log, cancel and retry.
import { ApiError, api, eventsUrl } from './api.js';
import { DASH, badge, duration, h, num, prettyJson, progressBar, replace, timestamp } from './dom.js';
import { setConnection } from './shell.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const POLL_MS = 1000;
/** The log card shows the newest lines (the API keeps a job's newest 1,000) and reads them at most this often while the job runs. */
const LOG_LINES = 200;
const LOG_EVERY_MS = 2000;

export function renderJobDetail(main, id) {
  const page = new JobDetailPage(main, id);
  page.start();
  return () => page.stop();
}

/** The page's parts, laid out once; each is filled as the job record arrives. */
function layout(main, id) {
  const el = {
    head: h('div', { class: 'page-head' }),
    actionError: h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'job-action-error' }),
    actionInfo: h('p', { class: 'info', role: 'status', hidden: true, 'data-testid': 'job-action-info' }),
    progressCard: h('section', { class: 'card span-2', 'aria-labelledby': 'h-progress' }),
    timingCard: h('section', { class: 'card', 'aria-labelledby': 'h-timing' }),
    inputCard: h('section', { class: 'card', 'aria-labelledby': 'h-input' }),
    errorCard: h('section', { class: 'card span-2 card-error', 'aria-labelledby': 'h-error', hidden: true, 'data-testid': 'job-error-card' }),
    resultCard: h('section', { class: 'card span-2', 'aria-labelledby': 'h-result', hidden: true }),
    webhookCard: h('section', { class: 'card span-2', 'aria-labelledby': 'h-webhook', hidden: true, 'data-testid': 'job-webhook' }),
    logCard: h('section', { class: 'card span-2', 'aria-labelledby': 'h-log', hidden: true, 'data-testid': 'job-log' }),
    loadError: h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'job-load-error' }),
  };
  replace(
    main,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/jobs' }, 'Jobs'), ' / ', h('span', { class: 'mono' }, id)),
    el.head,
    el.loadError,
    el.actionError,
    el.actionInfo,
    h('div', { class: 'grid' }, el.progressCard, el.errorCard, el.resultCard, el.logCard, el.webhookCard, el.timingCard, el.inputCard),
  );
  return el;
}

/** One job's page: loads the record, follows it live until it ends, and cancels or retries it. */
class JobDetailPage {
  #main;
  #id;
  #el;
  #job = null;
  #stopped = false;
  #events = null;
  #pollTimer;
  #tick;
  #resultShownFor = null;
  #objectUrl = null;
  #confirming = false;
  #sseFailed = false;
  #webhookTimer;
  #logs = null;

  constructor(main, id) {
    this.#main = main;
    this.#id = id;
    this.#el = layout(main, id);
  }

  start() {
    this.#load().then(() => this.#followIfRunning());
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#webhookTimer);
    this.#logs?.stop();
    this.#stopLive();
    if (this.#objectUrl) URL.revokeObjectURL(this.#objectUrl);
    setConnection('idle');
  }

  #render() {
    const job = this.#job;
    if (job === null) return;
    this.#renderHead();
    replace(this.#el.progressCard, progressContent(job));
    this.#renderTiming();
    replace(this.#el.inputCard, inputContent(job));
    renderError(this.#el.errorCard, job);
    this.#renderResult();
    renderWebhook(this.#el.webhookCard, job.webhook);
    (this.#logs ??= new LogCard(this.#el.logCard, this.#id)).update(TERMINAL.has(job.status));
    // A delivery still being tried after the job ended: look again until it is settled.
    clearTimeout(this.#webhookTimer);
    if (TERMINAL.has(job.status) && job.webhook?.state === 'pending') this.#webhookTimer = setTimeout(() => !this.#stopped && this.#load(), 2 * POLL_MS);
  }

  #renderHead() {
    const job = this.#job;
    const actions = h('div', { class: 'actions' });
    if (!TERMINAL.has(job.status)) actions.append(...this.#cancelButtons());
    if (job.status === 'failed') {
      actions.append(h('button', { type: 'button', class: 'primary', 'data-testid': 'job-retry', onclick: () => this.#retry() }, 'Retry failed tasks'));
    }
    actions.append(h('a', { class: 'button', href: `/v1/jobs/${encodeURIComponent(job.id)}`, target: '_blank', rel: 'noopener' }, 'JSON'));
    replace(
      this.#el.head,
      h('div', {}, h('h1', {}, h('span', { class: 'muted' }, 'Job '), h('span', { class: 'mono', 'data-testid': 'job-id' }, job.id)), h('p', { class: 'subtitle' }, h('strong', { 'data-testid': 'job-type' }, job.job), ' · ', badge(job.status, 'job-status'), job.partial ? [' ', badge('partial', 'job-partial-badge')] : null)),
      actions,
    );
  }

  /** "Cancel job", or, once pressed, the question whether to. */
  #cancelButtons() {
    if (!this.#confirming) {
      const ask = () => {
        this.#confirming = true;
        this.#renderHead();
        this.#main.querySelector('[data-testid="job-cancel-confirm"]')?.focus();
      };
      return [h('button', { type: 'button', class: 'danger-outline', 'data-testid': 'job-cancel', onclick: ask }, 'Cancel job')];
    }
    const keep = () => {
      this.#confirming = false;
      this.#renderHead();
    };
    return [
      h('span', { class: 'confirm-text' }, 'Stop this job? Queued tasks are dropped, running ones stopped.'),
      h('button', { type: 'button', class: 'danger', 'data-testid': 'job-cancel-confirm', onclick: () => this.#cancel() }, 'Yes, cancel it'),
      h('button', { type: 'button', 'data-testid': 'job-cancel-keep', onclick: keep }, 'Keep running'),
    ];
  }

  #renderTiming() {
    replace(this.#el.timingCard, timingContent(this.#job, Date.now()));
  }

  async #renderResult() {
    const job = this.#job;
    const card = this.#el.resultCard;
    if (job.status !== 'completed') {
      card.hidden = true;
      return;
    }
    if (this.#resultShownFor === job.id) return;
    this.#resultShownFor = job.id;
    card.hidden = false;
    replace(card, h('h2', { id: 'h-result' }, 'Result'), h('p', { class: 'muted' }, 'Loading…'));
    try {
      const res = await api(`/v1/jobs/${encodeURIComponent(job.id)}/result`);
      if (this.#stopped) return;
      if (res instanceof Blob) {
        if (this.#objectUrl) URL.revokeObjectURL(this.#objectUrl);
        this.#objectUrl = URL.createObjectURL(res);
        replace(card, imageResult(job, this.#objectUrl));
      } else replace(card, valueResult(res?.result));
    } catch (err) {
      if (this.#stopped) return;
      this.#resultShownFor = null;
      replace(card, h('h2', { id: 'h-result' }, 'Result'), h('p', { class: 'error', role: 'alert' }, err.message));
    }
  }

  async #load() {
    const { head, loadError } = this.#el;
    try {
      const fresh = await api(`/v1/jobs/${encodeURIComponent(this.#id)}`);
      if (this.#stopped) return;
      this.#job = fresh;
      loadError.hidden = true;
      setConnection('ok');
      this.#render();
      if (TERMINAL.has(this.#job.status)) this.#stopLive();
    } catch (err) {
      if (this.#stopped) return;
      if (this.#job === null) {
        replace(head, h('h1', {}, 'Job ', h('span', { class: 'mono' }, this.#id)));
      }
      loadError.hidden = false;
      loadError.textContent = err.status === 404 ? err.message : `Could not load the job: ${err.message}`;
      setConnection(err.status === 404 ? 'ok' : 'error', err.message);
    }
  }

  /** Starts following a job that has not ended, unless already following it. */
  #followIfRunning() {
    if (this.#stopped || this.#job === null || TERMINAL.has(this.#job.status) || this.#events !== null || this.#pollTimer !== undefined) return;
    this.#follow();
  }

  /** Follows progress over SSE; if the stream fails once, polls from then on. */
  #follow() {
    this.#stopLive();
    this.#tick = setInterval(() => this.#job && !TERMINAL.has(this.#job.status) && this.#renderTiming(), 1000);
    if (typeof EventSource === 'undefined' || this.#sseFailed) return this.#poll();
    const events = (this.#events = new EventSource(eventsUrl(this.#id)));
    events.addEventListener('progress', (e) => this.#onProgress(JSON.parse(e.data)));
    events.addEventListener('end', () => {
      this.#events?.close();
      this.#events = null;
      this.#load(); // the full record: task errors, finish time, then the result
    });
    events.addEventListener('error', () => {
      if (this.#events === null) return;
      // The stream broke before its end (server restart, proxy, expired token): poll instead.
      this.#events.close();
      this.#events = null;
      this.#sseFailed = true;
      this.#poll();
    });
  }

  #onProgress(data) {
    if (this.#job === null || this.#stopped) return;
    const wasStatus = this.#job.status;
    this.#job = { ...this.#job, status: data.status, progress: data.progress, error: data.error ?? null };
    setConnection('ok');
    if (wasStatus !== this.#job.status) this.#confirming = false;
    this.#render();
  }

  #poll() {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = setTimeout(async () => {
      await this.#load();
      if (!this.#stopped && this.#job !== null && !TERMINAL.has(this.#job.status)) this.#poll();
      else this.#pollTimer = undefined;
    }, POLL_MS);
  }

  #stopLive() {
    this.#events?.close();
    this.#events = null;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    clearInterval(this.#tick);
  }

  async #act(fn, done) {
    const { head, actionError, actionInfo } = this.#el;
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
      this.#confirming = false;
      await this.#load();
      this.#followIfRunning();
    }
  }

  #cancel() {
    return this.#act(() => api(`/v1/jobs/${encodeURIComponent(this.#id)}`, { method: 'DELETE' }), 'Cancelled');
  }

  #retry() {
    return this.#act(async () => {
      await api(`/v1/jobs/${encodeURIComponent(this.#id)}/retry`, { method: 'POST' });
      this.#resultShownFor = null;
    }, 'The failed tasks were queued again');
  }
}

function progressContent(job) {
  return [
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
      count('Stolen', job.stragglers?.stolenTasks ?? 0, 'tasks moved off a slow or backed-up node to one with a free thread'),
      count('Speculated', job.stragglers?.speculatedTasks ?? 0, 'backup copies of the last tasks'),
    ),
    h('h3', {}, 'Tasks per node'),
    h(
      'ul',
      { class: 'per-node', 'data-testid': 'job-tasks-per-node' },
      ...Object.entries(job.tasksPerNode ?? {}).map(([node, n]) => h('li', { 'data-node-id': node }, h('span', { class: 'mono' }, node), ` ${n}`)),
    ),
    ...cacheContent(job.cachePerNode ?? {}),
  ];
}

/** The job's asks of each node's cache (ctx.cache): shown only for a job that used it. */
function cacheContent(perNode) {
  const nodes = Object.entries(perNode);
  if (nodes.length === 0) return [];
  return [
    h('h3', {}, 'Node cache'),
    h(
      'ul',
      { class: 'per-node', 'data-testid': 'job-cache-per-node' },
      ...nodes.map(([node, c]) => {
        const asks = c.hits + c.misses;
        const rate = asks === 0 ? '' : ` (${Math.round((100 * c.hits) / asks)}% hits)`;
        return h('li', { 'data-node-id': node }, h('span', { class: 'mono' }, node), ` ${c.hits} hits, ${c.misses} misses${rate}, ${(c.bytes / 1048576).toFixed(1)} MiB kept`);
      }),
    ),
  ];
}

function timingContent(job, now) {
  const t = job.timing ?? {};
  const waited = job.startedAt ? job.startedAt - job.createdAt : TERMINAL.has(job.status) ? null : now - job.createdAt;
  const ran = job.startedAt ? (job.finishedAt ?? (TERMINAL.has(job.status) ? null : now)) - job.startedAt : null;
  return [
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
      kv('Reduce', reduceTime(job, t), 'job-reduce-time'),
      kv('Result type', job.resultType ?? 'json'),
      kv('Job type version', job.version === null || job.version === undefined ? 'from a folder' : `v${job.version} (deployed)`, 'job-version'),
      job.scheduleId ? kv('Started by', h('span', {}, h('a', { href: '#/schedules' }, job.scheduleId), ` for its tick at ${timestamp(job.scheduledFor)}`), 'job-schedule') : null,
      // The OpenTelemetry trace of the job's spans (API, split, each entry's wait and run, reduce): look it up in the collector's UI.
      kv('Trace id', job.traceId ? h('code', {}, job.traceId) : 'not traced (tracing is off: --otlp-endpoint)', 'job-trace-id'),
    ),
  ];
}

/** How long the reduce took and where: a job of one queue entry is reduced in its tasks' own thread call on its worker. */
function reduceTime(job, t) {
  if (!t.lastResultAt || !job.finishedAt || job.status !== 'completed') return DASH;
  if (t.reducedOn && t.reducedOn !== 'scheduler') return `with its tasks, on ${t.reducedOn}`;
  return `${duration(job.finishedAt - t.lastResultAt)} on the scheduler`;
}

function inputContent(job) {
  return [
    h('h2', { id: 'h-input' }, 'Input and options'),
    h('h3', {}, 'Input'),
    h('pre', { class: 'code', 'data-testid': 'job-input' }, prettyJson(job.input, 20_000)),
    h('h3', {}, 'Options'),
    h('pre', { class: 'code' }, prettyJson(job.options, 5_000)),
  ];
}

/**
 * What the job's split, tasks and reduce wrote with log (GET /v1/jobs/:id/logs): hidden until there is a line;
 * read on each render at most every LOG_EVERY_MS while the job runs, and once more when it ended.
 * A task number narrows it to that task's lines.
 */
class LogCard {
  #card;
  #id;
  #task = '';
  #readAt = 0;
  #ended = false;
  #timer;
  #stopped = false;
  #reading = false;
  #body = null;

  constructor(card, id) {
    this.#card = card;
    this.#id = id;
  }

  /** A render of the page: read the lines if it is time to (or the job has just ended). */
  update(ended) {
    if (this.#stopped || this.#reading || (this.#ended && ended)) return;
    const endedNow = ended && !this.#ended;
    const wait = this.#readAt + LOG_EVERY_MS - Date.now();
    clearTimeout(this.#timer);
    if (!endedNow && wait > 0) {
      this.#timer = setTimeout(() => this.update(ended), wait);
      return;
    }
    this.#ended = ended;
    void this.#read();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #read() {
    this.#reading = true;
    this.#readAt = Date.now();
    const query = new URLSearchParams({ limit: String(LOG_LINES) });
    if (this.#task !== '') query.set('task', this.#task);
    try {
      const { lines } = await api(`/v1/jobs/${encodeURIComponent(this.#id)}/logs?${query}`);
      if (!this.#stopped) this.#render(lines, null);
    } catch (err) {
      if (!this.#stopped) this.#render([], err.message);
    } finally {
      this.#reading = false;
    }
  }

  /** The heading and the task filter, laid out once (a read replaces only the lines, so typing in the filter is not lost). */
  #layout() {
    const filter = h('input', { type: 'number', min: '0', step: '1', placeholder: 'all', 'aria-label': 'Only the lines of task', 'data-testid': 'job-log-task', class: 'log-task' });
    filter.addEventListener('change', () => {
      this.#task = filter.value.trim();
      void this.#read();
    });
    this.#body = h('div', {});
    replace(this.#card, h('h2', { id: 'h-log' }, 'Log'), h('p', { class: 'muted small' }, `The newest ${LOG_LINES} lines the split, the tasks and the reduce wrote with log, oldest first; only task `, filter), this.#body);
  }

  #render(lines, error) {
    if (lines.length === 0 && this.#task === '' && error === null) {
      this.#card.hidden = true;
      return;
    }
    if (this.#body === null) this.#layout();
    this.#card.hidden = false;
    const line = (l) => h('tr', {}, h('td', { class: 'mono small' }, timestamp(l.at).slice(11)), h('td', { class: 'num', 'data-testid': 'log-line-task' }, l.task === null ? l.phase : String(l.task)), h('td', { class: 'num' }, String(l.attempt)), h('td', { class: 'mono small' }, l.node), h('td', { class: 'log-message' }, l.message));
    replace(
      this.#body,
      error === null ? null : h('p', { class: 'error', role: 'alert' }, `Could not read the log: ${error}`),
      lines.length === 0
        ? h('p', { class: 'muted small' }, 'No lines.')
        : h('table', { class: 'table log', 'data-testid': 'job-log-lines' }, h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', { class: 'num' }, 'Task'), h('th', { class: 'num' }, 'Attempt'), h('th', {}, 'Node'), h('th', {}, 'Message'))), h('tbody', {}, ...lines.map(line))),
    );
  }
}

const WEBHOOK_STATES = { pending: 'being tried', delivered: 'delivered', gave_up: 'given up', refused: 'refused (private address)' };

/** The webhook's delivery log (docs/webhooks.md): its state and each attempt. */
function renderWebhook(card, webhook) {
  card.hidden = !webhook;
  if (!webhook) return;
  const attempt = (a) =>
    h('li', { class: 'small' }, timestamp(a.at), ' · ', a.status === null ? h('span', { class: 'error' }, a.error ?? 'no answer') : h('span', { class: a.status < 300 ? '' : 'error' }, `HTTP ${a.status}`), ` · ${duration(a.latencyMs)}`);
  replace(
    card,
    h('h2', { id: 'h-webhook' }, 'Webhook'),
    h('p', {}, h('span', { 'data-testid': 'job-webhook-state' }, WEBHOOK_STATES[webhook.state] ?? webhook.state), ` · ${webhook.event} · `, h('span', { class: 'mono small' }, webhook.deliveryId), webhook.nextAttemptAt ? h('span', { class: 'muted' }, ` · next try ${timestamp(webhook.nextAttemptAt)}`) : null),
    webhook.attempts.length === 0 ? h('p', { class: 'muted small' }, 'No attempt yet.') : h('ol', { 'data-testid': 'job-webhook-attempts' }, ...webhook.attempts.map(attempt)),
  );
}

function renderError(card, job) {
  const taskErrors = job.taskErrors ?? [];
  if (job.error === null && taskErrors.length === 0) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  // A partial job completed although these tasks failed, within its maxFailedTasks/maxFailedRatio (docs/tenants.md).
  const partial = job.partial ? h('p', { 'data-testid': 'job-partial' }, h('strong', {}, 'Partial result: '), `${taskErrors.length} of ${job.progress.total ?? '?'} tasks failed, within the job's limits; the result is of the others.`) : null;
  replace(card, h('h2', { id: 'h-error' }, job.partial ? 'Partial' : 'Error'), partial, job.error === null ? null : jobError(job.error), taskErrors.length === 0 ? null : taskErrorList(taskErrors, job.error === null));
}

function jobError(e) {
  return h(
    'div',
    { class: 'error-block' },
    h('p', {}, h('code', { class: 'error-code', 'data-testid': 'job-error-code' }, e.code ?? 'ERROR'), ' ', h('span', { 'data-testid': 'job-error' }, e.message ?? ''), e.taskIndex !== undefined ? h('span', { class: 'muted' }, ` (task ${e.taskIndex})`) : null),
    e.stack ? h('pre', { class: 'code stack', 'data-testid': 'job-error-stack' }, e.stack) : h('p', { class: 'muted small' }, 'No stack trace was recorded.'),
  );
}

/** The tasks' errors, the first one open when the job has no error of its own. */
function taskErrorList(taskErrors, openFirst) {
  return [
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
            { open: i === 0 && openFirst },
            h('summary', {}, h('strong', {}, `task ${te.taskIndex ?? '?'}`), ' ', h('code', {}, te.code ?? 'ERROR'), ' ', te.message ?? ''),
            te.stack ? h('pre', { class: 'code stack' }, te.stack) : h('p', { class: 'muted small' }, 'No stack trace.'),
          ),
        ),
      ),
    ),
  ];
}

function imageResult(job, objectUrl) {
  return [
    h('h2', { id: 'h-result' }, 'Result'),
    h('img', { src: objectUrl, alt: `the ${job.job} image of job ${job.id}`, class: 'result-image', 'data-testid': 'job-result-image' }),
    h('p', {}, h('a', { href: objectUrl, download: `${job.id}.png` }, 'Download PNG')),
  ];
}

function valueResult(value) {
  return [
    h('h2', { id: 'h-result' }, 'Result'),
    typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
      ? h('p', { class: 'result-scalar', 'data-testid': 'job-result' }, typeof value === 'number' ? num(value, 12) : String(value))
      : h('pre', { class: 'code result', 'data-testid': 'job-result' }, prettyJson(value)),
  ];
}

function count(label, value, title) {
  return h('div', { class: 'count', title: title || undefined }, h('dt', {}, label), h('dd', {}, value === null || value === undefined ? DASH : num(value)));
}

function kv(label, value, testid) {
  return h('div', {}, h('dt', {}, label), h('dd', { 'data-testid': testid }, value));
}

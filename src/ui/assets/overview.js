// Overview: schedulers, worker nodes, the ring, Redis, and live charts, from GET /v1/cluster once a second.
import { api } from './api.js';
import { liveChart } from './charts.js';
import { DASH, badge, bytes, colourFor, duration, h, num, orDash, replace, s, timestamp } from './dom.js';
import { setConnection } from './shell.js';

const POLL_MS = 1000;
const WINDOW_SEC = 300;

/**
 * Kept across visits to the page, so the charts do not start empty each time: samples of the
 * last WINDOW_SEC seconds and the leader changes seen.
 */
const kept = { samples: [], leaderChanges: [], lastLeader: undefined, lastTerm: undefined };

function remember(view, t) {
  const depth = {};
  for (const w of view.workers ?? []) depth[w.id] = w.queueDepth ?? 0;
  kept.samples.push({ t, throughput: { 'tasks/s': Number(view.tasksPerSec ?? 0) }, depth });
  while (kept.samples.length > 0 && kept.samples[0].t < t - WINDOW_SEC) kept.samples.shift();
  const leader = view.leaderId ?? null;
  // The first poll only sets the baseline: a change is a leader different from the last one seen.
  if (kept.lastLeader !== undefined && leader !== kept.lastLeader) {
    kept.leaderChanges.push({ t, label: leader === null ? 'no leader' : `leader ${leader} (term ${view.term ?? '?'})`, leader, term: view.term });
    if (kept.leaderChanges.length > 50) kept.leaderChanges.shift();
  }
  kept.lastLeader = leader;
  kept.lastTerm = view.term;
}

export function renderOverview(main) {
  const page = new OverviewPage(main);
  page.start();
  return () => page.stop();
}

/** The page's cards, laid out once; each is filled from every poll. */
function layout(main) {
  const el = {
    stats: h('section', { class: 'stats', 'aria-label': 'Summary' }),
    schedulers: h('section', { class: 'card', 'aria-labelledby': 'h-schedulers' }),
    ring: h('section', { class: 'card ring-card', 'aria-labelledby': 'h-ring' }),
    workers: h('section', { class: 'card span-2', 'aria-labelledby': 'h-workers' }),
    charts: h('section', { class: 'card', 'aria-labelledby': 'h-charts' }),
    redis: h('section', { class: 'card', 'aria-labelledby': 'h-redis' }),
    error: h('p', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'overview-error' }),
  };
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Cluster overview'), h('span', { class: 'muted', id: 'overview-updated', 'data-testid': 'overview-updated' })),
    el.error,
    el.stats,
    h('div', { class: 'stack' }, h('div', { class: 'grid grid-3' }, el.ring, el.workers), el.charts, h('div', { class: 'grid' }, el.schedulers, el.redis)),
  );
  return el;
}

/** The throughput and queue-depth charts, with the samples kept from earlier visits. */
function liveCharts(card) {
  replace(card, h('h2', { id: 'h-charts' }, 'Throughput and queues'));
  const chartRow = h('div', { class: 'chart-row' });
  card.append(chartRow, h('div', { class: 'leader-changes', 'data-testid': 'leader-changes' }));
  const throughput = liveChart(chartRow, {
    title: 'Tasks completed per second',
    unit: 'tasks/s',
    fill: true,
    colour: () => '#2563eb',
    windowSec: WINDOW_SEC,
    markers: () => kept.leaderChanges,
    testid: 'chart-throughput',
  });
  const queues = liveChart(chartRow, {
    title: 'Queue depth per worker node',
    unit: 'entries',
    windowSec: WINDOW_SEC,
    markers: () => kept.leaderChanges,
    testid: 'chart-queues',
  });
  for (const x of kept.samples) {
    throughput.push(x.t, x.throughput);
    queues.push(x.t, x.depth);
  }
  return { throughput, queues };
}

/** The overview: polls the cluster view once a second while shown. */
class OverviewPage {
  #el;
  #charts;
  #ringKey = '';
  #stopped = false;
  #timer;
  #controller;

  constructor(main) {
    this.#el = layout(main);
    this.#charts = liveCharts(this.#el.charts);
  }

  start() {
    this.#poll();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#controller?.abort();
    this.#charts.throughput.destroy();
    this.#charts.queues.destroy();
    setConnection('idle');
  }

  async #poll() {
    const { error } = this.#el;
    this.#controller = new AbortController();
    try {
      const view = await api('/v1/cluster', { signal: this.#controller.signal });
      if (this.#stopped) return;
      this.#show(view, Date.now());
      error.hidden = true;
      setConnection('ok');
    } catch (err) {
      if (this.#stopped || err.name === 'AbortError') return;
      error.hidden = false;
      if (err.status === 403) {
        // A tenant's token on a server shared by tenants: the cluster view is an operator's (docs/tenants.md); asking again will not change that.
        replace(error, `The cluster overview is not for this token: ${err.message}. Your own jobs are under `, h('a', { href: '#/jobs' }, 'Jobs'), '.');
        setConnection('ok');
        return;
      }
      error.textContent = `Could not load the cluster view: ${err.message}`;
      setConnection('error', err.message);
      if (err.status === 401) return; // the token form is up; it re-renders the page
    }
    if (!this.#stopped) this.#timer = setTimeout(() => this.#poll(), POLL_MS);
  }

  #show(view, now) {
    const { stats, schedulers, ring, workers, redis, charts } = this.#el;
    const { throughput, queues } = this.#charts;
    const t = now / 1000;
    const changesBefore = kept.leaderChanges.length;
    remember(view, t);
    const last = kept.samples[kept.samples.length - 1];
    throughput.push(t, last.throughput);
    queues.push(t, last.depth);
    if (kept.leaderChanges.length !== changesBefore) {
      throughput.redraw();
      queues.redraw();
    }
    renderStats(stats, view);
    renderSchedulers(schedulers, view);
    const key = JSON.stringify([view.ring?.version, view.ring?.shares]);
    if (key !== this.#ringKey) {
      this.#ringKey = key;
      renderRing(ring, view);
    }
    renderWorkers(workers, view);
    renderRedis(redis, view);
    renderLeaderChanges(charts.querySelector('.leader-changes'));
    document.getElementById('overview-updated').textContent = `updated ${timestamp(now).slice(11)}`;
  }
}

function stat(label, value, testid, extra) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value', 'data-testid': testid }, value), extra ? h('div', { class: 'stat-extra muted' }, extra) : null);
}

function renderStats(el, view) {
  const ws = view.workers ?? [];
  const alive = ws.filter((w) => w.state === 'alive');
  const threads = alive.reduce((a, w) => a + (w.threads ?? 0), 0);
  const busy = alive.reduce((a, w) => a + (w.busy ?? 0), 0);
  const depth = ws.reduce((a, w) => a + (w.queueDepth ?? 0), 0);
  replace(
    el,
    stat('Scheduler leader', view.leaderId ?? DASH, 'leader', view.leaderId ? `term ${num(view.term)}` : 'none reported'),
    stat('Worker nodes', `${alive.length} / ${ws.length}`, 'stat-workers', 'alive / registered'),
    stat('Busy threads', `${busy} / ${threads}`, 'stat-threads', threads ? `${Math.round((busy / threads) * 100)}% in use` : ''),
    stat('Throughput', `${num(view.tasksPerSec, 1)}`, 'stat-throughput', 'tasks / s'),
    stat('Queued', num(depth), 'stat-queued', 'entries on node queues'),
    autoscaleStat(view.autoscale),
  );
}

/** Worker nodes alive vs the leader's recommendation, with its reason (docs/operations.md "Autoscaling"). */
function autoscaleStat(a) {
  if (!a) return stat('Desired worker nodes', DASH, 'stat-desired', 'no leader reports a backlog yet');
  const why = a.reason === 'waiting-for-capacity' ? 'work waits for capacity: no worker node alive' : `${a.reason}: ${num(a.backlogTasks)} tasks waiting, target drain ${num(a.targetDrainMs / 1000, 1)} s`;
  return stat('Desired worker nodes', `${a.current} → ${a.desired}`, 'stat-desired', why);
}

function renderSchedulers(el, view) {
  const rows = view.schedulers ?? [];
  replace(
    el,
    h('h2', { id: 'h-schedulers' }, 'Schedulers'),
    h('p', { class: 'muted small' }, 'Raft replicas; the leader alone splits jobs and places tasks.'),
    rows.length === 0
      ? h('p', { class: 'empty', 'data-testid': 'schedulers-empty' }, `No Raft status reported yet (leader ${view.leaderId ?? DASH}, term ${orDash(view.term || null)}).`)
      : h(
          'table',
          { class: 'table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Id'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col', class: 'num' }, 'Term'), h('th', { scope: 'col', class: 'num' }, 'Commit'), h('th', { scope: 'col', class: 'num' }, 'Last contact'))),
          h(
            'tbody',
            {},
            rows.map((sc) =>
              h(
                'tr',
                { 'data-testid': 'scheduler-row', 'data-scheduler-id': sc.id, class: sc.id === view.leaderId ? 'is-leader' : '' },
                h('td', {}, sc.url ? h('span', { title: sc.url }, sc.id) : sc.id, sc.id === view.leaderId ? h('span', { class: 'crown', title: 'leader', 'aria-label': 'leader' }, ' ★') : null),
                h('td', {}, badge(sc.role, 'scheduler-role')),
                h('td', { class: 'num' }, num(sc.term)),
                h('td', { class: 'num' }, num(sc.commitIndex)),
                h('td', { class: 'num' }, sc.role === 'leader' ? 'is leader' : orDash(sc.lastContactMs, (ms) => `${duration(ms)} ago`)),
              ),
            ),
          ),
        ),
  );
}

/** The ring as a donut: each worker node's arc is its share of the key space. */
function renderRing(el, view) {
  const shares = view.ring?.shares ?? [];
  const size = 200;
  const c = size / 2;
  const r = 74;
  const stroke = 26;
  const svg = s('svg', { viewBox: `0 0 ${size} ${size}`, width: size, height: size, role: 'img', 'aria-label': `Hash ring with ${shares.length} worker node${shares.length === 1 ? '' : 's'}`, 'data-testid': 'ring', class: 'ring' });
  svg.append(s('circle', { cx: c, cy: c, r, fill: 'none', stroke: '#eef2f7', 'stroke-width': stroke }));
  let angle = -Math.PI / 2;
  const gap = shares.length > 1 ? 0.012 : 0;
  for (const { id, share } of shares) {
    const sweep = Math.max(0, share) * Math.PI * 2;
    const colour = colourFor(id);
    const title = s('title', {}, `${id}: ${(share * 100).toFixed(1)}% of the ring`);
    let shape;
    if (sweep >= Math.PI * 2 - 1e-6) {
      shape = s('circle', { cx: c, cy: c, r, fill: 'none', stroke: colour, 'stroke-width': stroke }, title);
    } else {
      const a0 = angle + gap / 2;
      const a1 = angle + sweep - gap / 2;
      const p = (a) => `${(c + r * Math.cos(a)).toFixed(2)} ${(c + r * Math.sin(a)).toFixed(2)}`;
      shape = s('path', { d: `M ${p(a0)} A ${r} ${r} 0 ${a1 - a0 > Math.PI ? 1 : 0} 1 ${p(a1)}`, fill: 'none', stroke: colour, 'stroke-width': stroke }, title);
    }
    shape.setAttribute('data-testid', 'ring-slice');
    shape.setAttribute('data-node-id', id);
    svg.append(shape);
    angle += sweep;
  }
  svg.append(
    s('text', { x: c, y: c - 4, 'text-anchor': 'middle', class: 'ring-count' }, String(shares.length)),
    s('text', { x: c, y: c + 16, 'text-anchor': 'middle', class: 'ring-caption' }, shares.length === 1 ? 'node' : 'nodes'),
  );
  replace(
    el,
    h('h2', { id: 'h-ring' }, 'Ring'),
    h('p', { class: 'muted small' }, 'Consistent hashing, virtual nodes weighted by threads', view.ring?.version ? ` · version ${String(view.ring.version).slice(0, 12)}` : ''),
    h(
      'div',
      { class: 'ring-body' },
      svg,
      shares.length === 0
        ? h('p', { class: 'empty' }, 'No alive worker node is on the ring.')
        : h(
            'ul',
            { class: 'legend', 'data-testid': 'ring-legend' },
            shares.map(({ id, share }) => h('li', {}, h('span', { class: 'swatch', style: `background:${colourFor(id)}` }), h('span', { class: 'legend-id' }, id), h('span', { class: 'legend-share' }, `${(share * 100).toFixed(1)}%`))),
          ),
    ),
  );
}

function renderWorkers(el, view) {
  const ws = view.workers ?? [];
  replace(
    el,
    h('h2', { id: 'h-workers' }, 'Worker nodes'),
    ws.length === 0
      ? h('p', { class: 'empty', 'data-testid': 'workers-empty' }, 'No worker node has registered.')
      : h(
          'table',
          { class: 'table', 'data-testid': 'workers' },
          h(
            'thead',
            {},
            h('tr', {}, ['Node', 'Host', 'Threads', 'Busy', 'Queue depth', 'Lease age', 'State'].map((t, i) => h('th', { scope: 'col', class: i >= 2 && i <= 5 ? 'num' : '' }, t))),
          ),
          h(
            'tbody',
            {},
            ws.map((w) =>
              h(
                'tr',
                { 'data-testid': 'worker-row', 'data-node-id': w.id, class: `state-${w.state}` },
                h('td', {}, h('span', { class: 'swatch', style: `background:${colourFor(w.id)}` }), h('strong', {}, w.id)),
                h('td', { class: 'muted' }, w.host ? `${w.host}${w.pid ? ` · pid ${w.pid}` : ''}` : DASH),
                h('td', { class: 'num' }, num(w.threads)),
                h('td', { class: 'num' }, h('span', { class: 'mini-bar', title: `${w.busy} of ${w.threads} threads busy` }, h('span', { style: `width:${w.threads ? Math.min(100, (w.busy / w.threads) * 100) : 0}%` })), ` ${num(w.busy)}`),
                h('td', { class: 'num', 'data-testid': 'worker-queue-depth' }, num(w.queueDepth)),
                h('td', { class: 'num' }, orDash(w.leaseAgeMs, duration)),
                h('td', {}, badge(w.state, 'worker-state')),
              ),
            ),
          ),
        ),
  );
}

function renderRedis(el, view) {
  const r = view.redis ?? {};
  const master = r.master ?? null;
  const replicas = r.replicas ?? [];
  const acked = r.lastWriteAcked === true ? 'yes' : r.lastWriteAcked === false ? 'no — fewer replicas confirmed than required' : DASH;
  replace(
    el,
    h('h2', { id: 'h-redis' }, 'Redis'),
    h(
      'table',
      { class: 'table', 'data-testid': 'redis' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Address'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col', class: 'num' }, 'Offset'), h('th', { scope: 'col', class: 'num' }, 'Lag'))),
      h(
        'tbody',
        {},
        h('tr', { 'data-testid': 'redis-master' }, h('td', {}, badge('master')), h('td', {}, master?.address ?? DASH), h('td', {}, orDash(master?.state)), h('td', { class: 'num' }, orDash(master?.offset, num)), h('td', { class: 'num' }, DASH)),
        replicas.length === 0
          ? h('tr', {}, h('td', {}, badge('replica')), h('td', { colspan: '4', class: 'muted' }, 'no replica connected'))
          : replicas.map((rep) =>
              h('tr', { 'data-testid': 'redis-replica' }, h('td', {}, badge('replica')), h('td', {}, rep.address ?? DASH), h('td', {}, orDash(rep.state)), h('td', { class: 'num' }, orDash(rep.offset, num)), h('td', { class: 'num' }, orDash(rep.lagBytes, bytes))),
            ),
      ),
    ),
    h('p', { class: 'muted small' }, `Results need ${orDash(r.minReplicas)} replica confirmation${r.minReplicas === 1 ? '' : 's'} (WAIT) · last write acknowledged: ${acked}`),
  );
}

function renderLeaderChanges(el) {
  if (el === null) return;
  const recent = kept.leaderChanges.slice(-5).reverse();
  replace(
    el,
    recent.length === 0
      ? h('span', { class: 'muted small' }, 'No leader change seen since this page opened; changes are marked on the charts.')
      : [h('span', { class: 'small' }, 'Leader changes: '), recent.map((c) => h('span', { class: 'chip', 'data-testid': 'leader-change' }, `${timestamp(c.t * 1000).slice(11)} ${c.label}`))],
  );
}

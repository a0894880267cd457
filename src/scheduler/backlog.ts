// The backlog signal: what waits for worker threads, and how many worker nodes would drain it in time.
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { serializeError } from '../errors.js';
import type { JobRecord } from '../store/job-record.js';
import type { JobStore } from '../store/job-store.js';
import { upgradeEntry, type TaskBatch } from '../transport/task-batch.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';
import { IdleBackoff } from './idle-backoff.js';
import type { Leadership } from './leadership.js';
import type { Membership } from './membership.js';

/**
 * Task time assumed for a job type nothing has measured yet, µs (docs/operations.md "Autoscaling"):
 * heavy rather than light, so that a burst scales out at once; the first measurements correct it.
 */
export const UNMEASURED_TASK_MICROS = 100_000;

/** Most queue entries read per node for the queued-task count: a bound on the sampler's cost. */
const MAX_ENTRIES_READ = 500;

/**
 * With no active job, a sample reads only the active set and keeps the queues and busy threads of
 * the last full sample (only the leader, this process, adds entries, and only for active jobs), so
 * an idle leader sends one command a sample; a full one still runs at least this often, ms.
 */
const FULL_SAMPLE_EVERY_MS = 10_000;

/** What the leader sees waiting, at one moment. */
export interface BacklogSample {
  /** Tasks of jobs whose split has ended that are not placed yet (total − placed). */
  readonly unplacedTasks: number;
  /** Active jobs whose split has not ended: their task count is unknown, and each wants a node. */
  readonly unsizedJobs: number;
  /**
   * Tasks of active jobs without a result, wherever their entries wait: also in the queue of a
   * node that left (drained or lapsed), whose entries move only once a node is there to take them.
   * Without it, a job whose entries sat on a departed node would look like no work, and with zero
   * nodes nothing would ever start one (docs/operations.md "Autoscaling").
   */
  readonly unfinishedTasks: number;
  /** Tasks in each live node's queue entries, waiting or running (by node id). */
  readonly queuedTasks: Readonly<Record<string, number>>;
  /** Worker threads running a task now, cluster-wide. */
  readonly busyThreads: number;
  /** Mean measured run time of one task over the active jobs' types, µs; undefined when none is measured. */
  readonly taskMicros: number | undefined;
  /** Live worker nodes that take tasks (draining ones not counted). */
  readonly currentNodes: number;
  /** Threads of one worker node: the live nodes' mean, else the configured default. */
  readonly threadsPerNode: number;
}

/** The bounds and the aim of the recommendation. */
export interface BacklogPolicy {
  /** The backlog should take at most this long to drain, ms (`--target-drain-ms`). */
  readonly targetDrainMs: number;
  readonly minNodes: number;
  readonly maxNodes: number;
}

/** Why the recommendation is what it is (shown in /v1/cluster and on the dashboard). */
export type RecommendationReason = 'idle' | 'backlog' | 'running' | 'waiting-for-capacity' | 'at-max' | 'at-min';

/** The recommendation and the figures it came from. */
export interface Recommendation {
  readonly desired: number;
  readonly reason: RecommendationReason;
  /** Tasks not finished: not placed plus queued on nodes. */
  readonly backlogTasks: number;
  /** Their work at the observed task time, ms of one thread. */
  readonly backlogWorkMs: number;
}

/**
 * `desired = clamp(ceil(backlogWork / (targetDrainMs × threadsPerNode)), min, max)`, and at least
 * one node while anything waits or runs (a job with zero nodes starts one: the cold start), and
 * at least the nodes the busy threads fill. Pure: the autoscaler's unit tests drive it.
 */
export function recommendWorkerNodes(sample: BacklogSample, policy: BacklogPolicy): Recommendation {
  const queued = Object.values(sample.queuedTasks).reduce((a, b) => a + b, 0);
  const backlogTasks = Math.max(sample.unplacedTasks + queued, sample.unfinishedTasks);
  const taskMs = (sample.taskMicros ?? UNMEASURED_TASK_MICROS) / 1000;
  const backlogWorkMs = backlogTasks * taskMs;
  const threads = Math.max(1, sample.threadsPerNode);
  const byWork = Math.ceil(backlogWorkMs / (Math.max(1, policy.targetDrainMs) * threads));
  const anyWork = backlogTasks > 0 || sample.unsizedJobs > 0 || sample.busyThreads > 0;
  const byBusy = Math.ceil(sample.busyThreads / threads);
  // Fair share places a job a window at a time (docs/tenants.md), so a big job's size is unknown
  // until its split ends and its backlog is not in any queue: while such a job waits and every
  // thread is busy, the pool is saturated and one more node is wanted (a step per cool-down).
  const saturated = sample.unsizedJobs > 0 && sample.currentNodes > 0 && sample.busyThreads >= sample.currentNodes * threads;
  const bySaturation = saturated ? sample.currentNodes + 1 : 0;
  const wanted = Math.max(byWork, byBusy, bySaturation, anyWork ? 1 : 0);
  const desired = Math.min(policy.maxNodes, Math.max(policy.minNodes, wanted));
  const reason: RecommendationReason =
    wanted > policy.maxNodes ? 'at-max'
    : wanted < policy.minNodes ? 'at-min'
    : !anyWork ? 'idle'
    : sample.currentNodes === 0 ? 'waiting-for-capacity'
    : (byWork >= byBusy && byWork > 0) || bySaturation > byBusy ? 'backlog'
    : 'running';
  return { desired, reason, backlogTasks, backlogWorkMs: Math.round(backlogWorkMs) };
}

/** Nothing waits, runs or is unsized: the pool is idle. */
function isQuiet(sample: BacklogSample): boolean {
  return (
    sample.unplacedTasks === 0 &&
    sample.unsizedJobs === 0 &&
    sample.unfinishedTasks === 0 &&
    sample.busyThreads === 0 &&
    Object.values(sample.queuedTasks).every((n) => n === 0)
  );
}

/** What the leader publishes (with its Raft status) for the API's /v1/cluster and /metrics. */
export interface BacklogReport extends Recommendation {
  /** When the sample began, ms since the epoch. */
  readonly at: number;
  readonly current: number;
  readonly unplacedTasks: number;
  readonly queuedTasks: Readonly<Record<string, number>>;
  readonly busyThreads: number;
  readonly taskMicros: number | null;
  readonly targetDrainMs: number;
}

export interface BacklogSignalDeps {
  readonly store: JobStore;
  readonly membership: Membership;
  readonly leadership: Leadership;
  readonly logger: Logger;
}

export interface BacklogSignalOptions extends BacklogPolicy {
  /** Threads per node assumed while no node is live. */
  readonly defaultThreadsPerNode: number;
  /** How often the leader samples while anything waits or runs, ms. @default 250 */
  readonly everyMs?: number;
  /**
   * How often at most it samples while nothing waits or runs, ms: the delay doubles from `everyMs`
   * up to this (idle-backoff.ts), and `poke()` (a job submitted, a node come or gone) brings it back.
   * Below the 5 s after which a report counts as stale (node/cluster-view.ts). @default 1500
   */
  readonly idleEveryMs?: number;
}

/**
 * Samples the backlog on the leader (read-only: job records, node queues, registrations) and keeps
 * the latest report; followers keep none. docs/operations.md "Autoscaling" explains the figures.
 */
export class BacklogSignal {
  readonly #deps: BacklogSignalDeps;
  readonly #options: BacklogSignalOptions;
  #latest: BacklogReport | undefined;
  /** Cancels the next sample's timer. */
  #cancel: () => void = () => {};
  /** When the pending timer fires, ms since the epoch (a grid timer: about then). */
  #dueAt = Number.POSITIVE_INFINITY;
  /** When the last sample began, ms since the epoch: `poke()` samples at most once per `everyMs`. */
  #sampledAt = Number.NEGATIVE_INFINITY;
  /** A poke came while a sample ran (which may have read the pool before the change): the next comes at the short delay. */
  #pokedWhileSampling = false;
  #sampling = false;
  #running = false;
  #onSample: () => void = () => {};
  readonly #backoff: IdleBackoff;
  /** The last full sample (queues and registrations read) and when it ran. */
  #full: { sample: BacklogSample; at: number } | undefined;
  /** One BullMQ queue handle per node sampled (on the store's connection), closed by stop(). */
  readonly #queues = new Map<string, Queue<TaskBatch>>();

  constructor(deps: BacklogSignalDeps, options: BacklogSignalOptions) {
    this.#deps = deps;
    this.#options = options;
    const everyMs = options.everyMs ?? 250;
    this.#backoff = new IdleBackoff({ minMs: everyMs, maxMs: Math.max(everyMs, options.idleEveryMs ?? 1500) });
  }

  /** The latest report while this process leads; undefined otherwise. */
  get latest(): BacklogReport | undefined {
    return this.#deps.leadership.term === undefined ? undefined : this.#latest;
  }

  start(): void {
    this.#running = true;
    this.#schedule(this.#options.everyMs ?? 250);
  }

  /** Calls `listener` after each sample this leader takes (the status publisher writes it if it changed). */
  onSample(listener: () => void): void {
    this.#onSample = listener;
  }

  /**
   * Something changes the backlog now (a job submitted, a node come or gone): sample at once, or,
   * when a sample began less than `everyMs` ago, that long after it; then at the short delay.
   * Bounded so that a stream of small jobs (every job's wake-up pokes) does not take a full sample
   * per job: six reads and a scan of every node's queue on the leader's event loop and its store
   * connection, between the job's wake-up and its placement (docs/performance.md, `latency`).
   * An idle pool's first job (the autoscaler's cold start) is still sampled at once.
   */
  poke(): void {
    if (!this.#running) return;
    this.#backoff.reset();
    if (this.#sampling) {
      this.#pokedWhileSampling = true;
      return;
    }
    const now = Date.now();
    const at = Math.max(now, this.#sampledAt + (this.#options.everyMs ?? 250));
    if (this.#dueAt <= at) return; // a sample is due by then already
    this.#schedule(at - now);
  }

  /** The next sample in `ms`: a wait of a second or more (an idle pool) on the process's idle grid, with its other idle loops. */
  #schedule(ms: number): void {
    this.#cancel();
    this.#dueAt = Date.now() + ms;
    if (ms >= 2 * IDLE_GRID_MS) {
      this.#cancel = idleGrid.after(ms, () => void this.#loop(), { ref: false });
      return;
    }
    const timer = setTimeout(() => void this.#loop(), ms);
    timer.unref();
    this.#cancel = () => clearTimeout(timer);
  }

  /** One sample, then the next: soon while work waits or runs, backing off while the pool is idle. */
  async #loop(): Promise<void> {
    this.#dueAt = Number.POSITIVE_INFINITY;
    const sample = await this.#tick();
    if (!this.#running || this.#sampling) return;
    const poked = this.#pokedWhileSampling;
    this.#pokedWhileSampling = false;
    // A follower, or a failed read, keeps the short delay: it may lead or read again any moment.
    this.#schedule(this.#backoff.next(poked || sample === undefined || !isQuiet(sample)));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#cancel();
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
  }

  async #tick(): Promise<BacklogSample | undefined> {
    if (this.#sampling) return undefined;
    if (this.#deps.leadership.term === undefined) {
      // A follower keeps no report; the first sample after it leads reads everything.
      this.#full = undefined;
      return undefined;
    }
    this.#sampling = true;
    try {
      // The time the sample began, not ended: what it read may be that old (a local autoscaler
      // drains no node started after it, src/autoscale/policy.ts sampleSeesNode). A quiet pool's
      // cheap sample is as fresh: the active set, read now, says nothing has come since.
      const begunAt = Date.now();
      this.#sampledAt = begunAt;
      const sample = await this.#sampleCheaply(begunAt);
      const recommendation = recommendWorkerNodes(sample, this.#options);
      this.#latest = {
        ...recommendation,
        at: begunAt,
        current: sample.currentNodes,
        unplacedTasks: sample.unplacedTasks,
        queuedTasks: sample.queuedTasks,
        busyThreads: sample.busyThreads,
        taskMicros: sample.taskMicros ?? null,
        targetDrainMs: this.#options.targetDrainMs,
      };
      this.#onSample();
      return sample;
    } catch (err) {
      this.#deps.logger.debug({ err: serializeError(err) }, 'could not sample the backlog; trying again');
      return undefined;
    } finally {
      this.#sampling = false;
    }
  }

  /**
   * A full sample, unless no job is active and the last full one (recent, same nodes) saw nothing
   * queued or running: then nothing can have been queued since, and the active set alone says so.
   */
  async #sampleCheaply(now = Date.now()): Promise<BacklogSample> {
    const last = this.#full;
    const nodes = this.#deps.membership.current();
    const quiet =
      last !== undefined &&
      now - last.at < FULL_SAMPLE_EVERY_MS &&
      isQuiet(last.sample) &&
      last.sample.currentNodes === nodes.length &&
      Object.keys(last.sample.queuedTasks).every((id, i) => id === nodes[i]?.id);
    if (quiet && (await this.#deps.store.activeJobIds()).length === 0) return last.sample;
    const sample = await this.sample();
    this.#full = { sample, at: now };
    return sample;
  }

  /** One sample: the active jobs' progress, each live node's queued tasks and busy threads. */
  async sample(): Promise<BacklogSample> {
    const { store, membership } = this.#deps;
    const nodes = membership.current();
    const jobs = (await Promise.all((await store.activeJobIds()).map((id) => store.getJob(id)))).filter((j): j is JobRecord => j !== undefined && !store.isTerminal(j.status));
    let unplacedTasks = 0;
    let unsizedJobs = 0;
    let unfinishedTasks = 0;
    for (const job of jobs) {
      if (job.progress.total === null) unsizedJobs++;
      else unplacedTasks += Math.max(0, job.progress.total - job.progress.placed);
      unfinishedTasks += Math.max(0, (job.progress.total ?? job.progress.placed) - job.progress.done);
    }
    const types = [...new Set(jobs.map((j) => j.name))];
    const micros = (await Promise.all(types.map((t) => store.results.taskMicros(t)))).filter((m): m is number => m !== undefined);
    const queued = await Promise.all(nodes.map(async (n) => [n.id, await this.#queuedTasks(n.id)] as const));
    const threads = nodes.reduce((sum, n) => sum + n.weight, 0);
    return {
      unplacedTasks,
      unsizedJobs,
      unfinishedTasks,
      queuedTasks: Object.fromEntries(queued),
      busyThreads: await this.#busyThreads(),
      taskMicros: micros.length === 0 ? undefined : micros.reduce((a, b) => a + b, 0) / micros.length,
      currentNodes: nodes.length,
      threadsPerNode: nodes.length === 0 ? this.#options.defaultThreadsPerNode : threads / nodes.length,
    };
  }

  async #queuedTasks(node: string): Promise<number> {
    let queue = this.#queues.get(node);
    if (queue === undefined) this.#queues.set(node, (queue = this.#deps.store.workers.queue(node)));
    const entries = await queue.getJobs(['waiting', 'active', 'prioritized', 'delayed'], 0, MAX_ENTRIES_READ - 1);
    return entries.reduce((sum, e) => sum + (e === undefined ? 0 : (upgradeEntry(e).data?.taskCount ?? 0)), 0);
  }

  async #busyThreads(): Promise<number> {
    const registrations = await this.#deps.store.workers.registrations();
    return registrations.reduce((sum, raw) => sum + (Number((JSON.parse(raw) as { busy?: unknown }).busy) || 0), 0);
  }
}

// The leader-only loop: splits submitted jobs, places each task on the ring, enqueues batches, reduces.
import type { Queue } from 'bullmq';
import { Piscina } from 'piscina';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BlobRuntime } from '../blobs/blob-store.js';
import { blobReader } from '../blobs/open.js';
import { RingpoolError, isTransientRedisError, serializeError } from '../errors.js';
import { threadExecArgv } from '../registry/import-module.js';
import { threadEntry, threadModule } from '../registry/thread-code.js';
import type { JobResolver, ServedJob } from '../registry/live-registry.js';
import type { Metrics } from '../observability/metrics.js';
import { inSpan } from '../observability/tracing.js';
import { failureAllowance, jobPriority } from '../sdk/job-options.js';
import type { JobStore, StartedJob } from '../store/job-store.js';
import type { LocalCreations } from '../store/local-creations.js';
import type { JobRecord, JobStatus } from '../store/job-record.js';
import type { LocalProgress } from '../store/local-progress.js';
import { HANDED_MAX_MICROS, type LocalHandoff } from '../transport/local-handoff.js';
import type { ResultBatches } from '../store/result-blobs.js';
import { batchTasks, type TaskBatch } from '../transport/task-batch.js';
import type { HashRing } from '../ring/index.js';
import type { Leadership } from './leadership.js';
import type { MemberNode, Membership } from './membership.js';
import { evacuateNode } from './evacuation.js';
import { FairShare, checkpointWithin, fitToWindow, type ShareClaim } from './fair-share.js';
import { batchShape, checkpointAfter, openingCheckpoint } from './batch-shape.js';
import { EntryBatcher, markWhole } from './entry-batcher.js';
import { DEFAULT_LOAD_BOUND, Placement, taskKey } from './placement.js';
import { NodeLoads } from './node-loads.js';
import { stealFromStragglers } from './stealing.js';
import { unstoredEntry, type QueueEntry } from './queue-entry.js';
import { ScheduleRunner } from './schedule-runner.js';
import type { ReduceOutcome, ReduceRequest, reduceInThread } from './reduce-runner.js';
import { idleGrid } from '../timer-grid.js';
import { LogLines, type LogLine } from '../log-lines.js';

const REDUCE_ENTRY = new URL('./reduce-entry.cjs', import.meta.url);

export interface SchedulerOptions {
  /** Tasks enqueued but without a result before the split waits (back-pressure, docs/architecture.md §5). @default 50000 */
  readonly maxPendingTasks?: number;
  /** Tasks split between two progress checkpoints. @default 2000 */
  readonly checkpointEvery?: number;
  /** Work per queue entry the automatic batch size aims at, µs of measured task time. @default 500000 */
  readonly targetEntryMicros?: number;
  /** Work a thread claims at a time from an entry (the node's threads share its tasks), µs. @default 20000 */
  readonly targetCallMicros?: number;
  /** Most JSON bytes of task results, and of task inputs, in one queue entry when batching automatically (batch-shape.ts). @default 1048576 */
  readonly maxEntryBytes?: number;
  /** Most tasks per queue entry when batching automatically, while the job type's result size is not measured yet. @default 1000 */
  readonly maxBatchSize?: number;
  /** A job whose split yields more tasks than this fails. @default 10000000 */
  readonly maxTasksPerJob?: number;
  /** A job whose reduced result is larger than this fails, bytes. @default 67108864 */
  readonly maxJobResultBytes?: number;
  /** Fair share: work each thread should have placed and unfinished, µs; the jobs share the pool's sum (fair-share.ts). @default 200000 */
  readonly fairWindowMicrosPerThread?: number;
  /** Bounded loads: a node takes at most this × the mean in-flight tasks (weighted by threads); 0: off (docs/architecture.md §5). @default 1.25 */
  readonly loadBound?: number;
  /** Stragglers: slow nodes weighed in bounded placement, entries waiting longer than this on a node while another has free threads move there, a straggler's last entries copied, ms; 0: all off (docs/architecture.md §5). @default 1000 */
  readonly stealAfterMs?: number;
}

export interface SchedulerDeps {
  readonly store: JobStore;
  readonly registry: JobResolver;
  readonly leadership: Leadership;
  readonly membership: Membership;
  /** Shared by the per-node BullMQ queues. */
  readonly connection: Redis;
  /** A connection of its own: it blocks on the wake list; close() closes it. */
  readonly blocking: Redis;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** The node's blob store: `ctx.blobs` of `split`, and results by reference in the reduce (docs/blobs.md). */
  readonly blobs?: BlobRuntime;
  /** A tenant's weight in fair share (docs/tenants.md); absent: every tenant weighs 1. */
  readonly tenantWeight?: (tenant: string) => number;
  /** A tenant's `maxThreadsInUse`: its jobs' windows together stay within it; absent or undefined: no cap. */
  readonly tenantMaxThreads?: (tenant: string) => number | undefined;
  /** Told of each notice popped from the wake list (a job to split or reduce): the backlog signal samples at once. */
  readonly onWake?: () => void;
  /** This scheduler's id: the node its splits' and reduces' log lines name. @default 'scheduler' */
  readonly schedulerId?: string;
  /** The results this process's worker stores (a worker beside the scheduler): the capacity wait wakes on them (local-progress.ts). */
  readonly localProgress?: LocalProgress;
  /** The worker beside the scheduler: a short whole job's entry is handed to it instead of queued (local-handoff.ts). */
  readonly localHandoff?: LocalHandoff;
  /** The API beside the scheduler: the records of the jobs it is creating (local-creations.ts). */
  readonly localCreations?: LocalCreations;
}

/** What a split carries from one enqueueing to the next (Scheduler #enqueue). */
interface SplitState {
  readonly job: JobRecord;
  readonly term: number;
  readonly micros: number | undefined;
  readonly batches: EntryBatcher;
  readonly lines: LogLines;
  /** A re-split: only tasks without a stored result are enqueued. */
  readonly resplit: boolean;
  /** Whether an entry has been enqueued (the first is the only one that may be the whole job). */
  enqueued: boolean;
  /** start-job.lua's answer, for a split begun before it (#createdHere); undefined once awaited. */
  started: Promise<StartedJob> | undefined;
}

export const SCHEDULER_DEFAULTS: Required<SchedulerOptions> = Object.freeze({
  maxPendingTasks: 50_000,
  checkpointEvery: 2_000,
  targetEntryMicros: 500_000,
  targetCallMicros: 20_000,
  maxEntryBytes: 1024 * 1024,
  maxBatchSize: 1_000,
  maxTasksPerJob: 10_000_000,
  maxJobResultBytes: 64 * 1024 * 1024,
  fairWindowMicrosPerThread: 200_000,
  loadBound: DEFAULT_LOAD_BOUND,
  stealAfterMs: 1_000,
});

/** Longest stretch a split runs before yielding to the event loop, ms. */
const SPLIT_SLICE_MS = 10;
/** The split looks at the clock every this many tasks (a power of two). */
const SLICE_CHECK_EVERY = 64;

/** How often a split waiting for room in its window looks at its job's progress again. */
const CAPACITY_POLL_MS = 10;
/**
 * The same, for a job whose every node is this process's worker: each of its results' writes (and
 * its cancel) wakes the wait (local-progress.ts), so the poll only bounds how late a change it is
 * not told of (a node joining, another job's share) is seen.
 */
const TOLD_POLL_MS = 1_000;
/** How often the leader reads the stored results per node of the jobs it placed (bounded loads). */
const LOADS_EVERY_MS = 1_000;

/** How often the leader looks for active jobs that nothing is working on. */
const SWEEP_EVERY_MS = 3_000;
/** A handed run that failed is queued due after this, as the queue's first backoff (queue-entry.ts) would have it. */
const HANDED_RETRY_DELAY_MS = 200;

/**
 * How long one blocking pop of the wake list waits, s. A notice ends it at once and close() ends it
 * by closing its connection: the timeout only lets the loop look at its leadership again (a deposed
 * leader hands back what it pops meanwhile). Each empty reply wakes an idle leader: 2 s, not 1
 * (docs/performance.md, "Round two"), and still within the connection probe's 2.5 s
 * (`probeMs`, node/supervised-redis.ts), so the blocked connection needs no PING.
 */
const WAKE_WAIT_S = 2;

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #options: Required<SchedulerOptions>;
  readonly #queues = new Map<string, Queue<TaskBatch>>();
  readonly #placement: Placement;
  /** In-flight tasks per node, what bounded placement is checked against. */
  readonly #loads = new NodeLoads();
  /** Running entries given a backup copy (`node/entry id`): one copy each. */
  readonly #speculated = new Set<string>();
  /** Reduce runs here, off the event loop that drives Raft: one thread, started when first needed. */
  // A small young generation (3 MB, one 1-MB semi-space pair): what a reduce keeps, the results, is
  // old by the time it runs, so scavenges cost little, and it is 4 MB less of the scheduler's RSS
  // than 8 (docs/performance.md, `scale`).
  readonly #reducePool = new Piscina({ filename: threadEntry(REDUCE_ENTRY), minThreads: 0, maxThreads: 1, idleTimeout: 60_000, execArgv: threadExecArgv(), recordTiming: false, resourceLimits: { maxYoungGenerationSizeMb: 3 } });
  /** Jobs this process is splitting or reducing now: one piece of work per job at a time. */
  readonly #working = new Map<string, Promise<void>>();
  /** Ends the membership loop's nap at once. */
  #wakeMembershipLoop: () => void = () => {};
  /** Active jobs at the last listing (#resumeAll): a new leader's in-flight tasks may be stolen although it placed none. */
  #activeJobs = 0;
  /** Ends the membership loop's idle nap without a pass: a job's work began (#work). */
  #endIdleNap: () => void = () => {};
  #running = false;
  #lastPlacement: { readonly term: number; readonly at: number } | undefined;
  /** Job type → its task time as start-job.lua last read it here, µs (#createdHere). */
  readonly #measured = new Map<string, number>();
  #loop: Promise<void> | undefined;
  #watch: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  /** Fires the schedules' ticks while this process leads. */
  readonly #schedules: ScheduleRunner;
  /** The jobs splitting here and their weights: each one's window of placed, unfinished tasks. */
  readonly #fair: FairShare;

  constructor(deps: SchedulerDeps, options: SchedulerOptions = {}) {
    this.#deps = deps;
    this.#schedules = new ScheduleRunner(deps);
    this.#options = { ...SCHEDULER_DEFAULTS, ...options };
    this.#placement = new Placement(this.#options.loadBound);
    for (const [name, value] of Object.entries(this.#options)) {
      if (name === 'loadBound') continue; // a factor, checked by Placement
      if (name === 'stealAfterMs' && value === 0) continue; // 0: stealing off
      if (!Number.isInteger(value) || value < 1) throw new RingpoolError('CONFIG', `scheduler option ${name} must be an integer >= 1, got ${value}`);
    }
    this.#fair = new FairShare({ windowMicrosPerThread: this.#options.fairWindowMicrosPerThread, maxWindow: this.#options.maxPendingTasks, tenantMaxThreads: deps.tenantMaxThreads });
  }

  /** When this process last enqueued tasks, and in which term (a scheduler's /status shows it; the failover bench reads it there). */
  get lastPlacement(): { readonly term: number; readonly at: number } | undefined {
    return this.#lastPlacement;
  }

  start(): void {
    this.#running = true;
    this.#unsubscribe = this.#deps.leadership.onChange((term) => {
      if (term !== undefined) void this.#resumeAll(term);
    });
    const term = this.#deps.leadership.term;
    if (term !== undefined) void this.#resumeAll(term);
    this.#loop = this.#wakeLoop();
    this.#watch = this.#membershipLoop();
    this.#schedules.start();
  }

  /** The leader moves the tasks of nodes that drained or whose lease lapsed, and sweeps idle jobs. */
  async #membershipLoop(): Promise<void> {
    const { membership, leadership, logger } = this.#deps;
    let sweptAt = Date.now();
    let loadsAt = Date.now();
    // A committed departure wakes the loop at once: the dead node's tasks move without waiting out the nap; so does close().
    let nudge: (() => void) | undefined;
    this.#wakeMembershipLoop = () => nudge?.();
    // A job that starts ends an idle nap: the next one is short, so stealing and the loads follow
    // it from the start; no pass at once (no sweep or read beside the job's start).
    let napIdle = false;
    let napEnded = false;
    this.#endIdleNap = () => {
      if (!napIdle) return;
      napEnded = true;
      nudge?.();
    };
    const unsubscribe = membership.onChange?.(() => nudge?.());
    while (this.#running) {
      // While nothing is split, reduced or in flight, and no job is active (so nothing can be stolen
      // either: a job that starts ends the nap, #work), a departure comes with a nudge and the sweep
      // runs every few seconds: the loop naps 2 s on the idle grid, not 250 ms (docs/performance.md, "Round two").
      const idle = this.#working.size === 0 && this.#loads.jobs().length === 0 && (this.#options.stealAfterMs === 0 || this.#activeJobs === 0);
      napIdle = idle;
      await new Promise<void>((resolve) => {
        const wake = () => {
          cancel();
          nudge = undefined;
          resolve();
        };
        let cancel: () => void;
        if (idle) cancel = idleGrid.after(2000, wake);
        else {
          const timer = setTimeout(wake, 250);
          cancel = () => clearTimeout(timer);
        }
        nudge = wake;
      });
      napIdle = false;
      if (napEnded) {
        napEnded = false;
        continue;
      }
      const term = leadership.term;
      if (term === undefined) continue;
      if (Date.now() - loadsAt > LOADS_EVERY_MS) {
        loadsAt = Date.now();
        await this.#refreshLoads();
      }
      if (this.#options.stealAfterMs > 0) await this.#steal(term);
      if (Date.now() - sweptAt > SWEEP_EVERY_MS) {
        sweptAt = Date.now();
        await this.#resumeAll(term, true);
      }
      for (const departed of membership.departed()) {
        try {
          const nodes = membership.current();
          if (nodes.length === 0) break; // nowhere to move them yet
          const report = await evacuateNode({
            node: departed.id,
            lapsed: departed.lapsed,
            ring: this.#placement.ringFor(nodes),
            term,
            store: this.#deps.store,
            connection: this.#deps.connection,
            queueFor: (node) => this.#queue(node),
            keyOf: (batch, task) => this.#keyOf(batch, task),
            stillDeparted: () => membership.departed().some((d) => d.id === departed.id),
          });
          if (report.entries > 0) {
            logger.info(report, 'moved the tasks of a departed worker node');
            this.#deps.metrics?.movedTasks.inc(report.movedTasks);
            await this.#deps.store.workers.recordEvacuation({ ...report, term, lapsed: departed.lapsed, lastHeartbeatAt: departed.heartbeatAt, at: Date.now() });
          }
          if (departed.lapsed) await membership.forget(departed.id);
        } catch (err) {
          logger.warn({ node: departed.id, err: serializeError(err) }, 'could not move the tasks of a departed node; will retry');
        }
      }
    }
    unsubscribe?.();
  }

  /** A moved task's key, by the version its job runs (loaded: its split placed it); the default key if not. */
  #keyOf(batch: TaskBatch, [index, task]: readonly [number, unknown]): string {
    return taskKey(this.#deps.registry.peek(batch.job, batch.version ?? null)?.module.keyOf, batch.jobId, index, task);
  }

  async #wakeLoop(): Promise<void> {
    const { store, blocking, leadership, logger } = this.#deps;
    while (this.#running) {
      if (leadership.term === undefined) {
        await this.#leadingOrAfter(100);
        continue;
      }
      try {
        const wake = await store.nextWake(blocking, WAKE_WAIT_S);
        if (wake === null) continue;
        this.#deps.onWake?.();
        const term = leadership.term;
        if (term === undefined) {
          // Leadership was lost while blocked: hand the notice back for the next leader.
          await store.returnWake(wake);
          continue;
        }
        this.#work(wake.jobId, () => (wake.kind === 'split' ? this.#split(wake.jobId, term) : this.#reduce(wake.jobId, term)));
      } catch (err) {
        if (!this.#running) return;
        logger.warn({ err: serializeError(err) }, 'scheduler wake loop error; retrying');
        await sleep(500);
      }
    }
  }

  /** Resolves once this scheduler leads, or after `ms`: a new leader takes its first wake notice at once, not at the next look. */
  #leadingOrAfter(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const timer = setTimeout(done, ms);
      const unsubscribe = this.#deps.leadership.onChange((term) => {
        if (term !== undefined) done();
      });
    });
  }

  /**
   * A new leader picks up every job that has not ended (docs/architecture.md §5). The leader also does
   * this every few seconds for jobs nobody here works on: a notice popped by a leader that died,
   * or a reduce that failed on a transient Redis error, still gets its job finished.
   */
  async #resumeAll(term: number, onlyIdle = false): Promise<void> {
    try {
      const ids = await this.#deps.store.activeJobIds();
      this.#activeJobs = ids.length;
      for (const id of ids) {
        if (onlyIdle && this.#working.has(id)) continue;
        this.#work(id, () => this.#resume(id, term));
      }
    } catch (err) {
      this.#deps.logger.error({ err: serializeError(err) }, 'could not list the active jobs to resume');
    }
  }

  async #resume(id: string, term: number): Promise<void> {
    const job = await this.#deps.store.getJob(id);
    if (job === undefined || this.#deps.store.isTerminal(job.status)) return;
    const { total, done } = job.progress;
    if (total === null) await this.#split(id, term);
    else if (done >= total) await this.#reduce(id, term);
  }

  #work(id: string, fn: () => Promise<void>): void {
    // The membership loop naps while nothing is in flight: a job's work wakes it to its short delay.
    if (this.#working.size === 0) queueMicrotask(() => this.#endIdleNap());
    const previous = this.#working.get(id) ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(fn)
      .catch((err: unknown) => this.#deps.logger.error({ jobId: id, err: serializeError(err) }, 'scheduling a job failed'))
      .finally(() => {
        if (this.#working.get(id) === next) this.#working.delete(id);
      });
    this.#working.set(id, next);
  }

  #queue(nodeId: string): Queue<TaskBatch> {
    let queue = this.#queues.get(nodeId);
    if (queue === undefined) {
      queue = this.#deps.store.workers.queue(nodeId, this.#deps.connection);
      this.#queues.set(nodeId, queue);
    }
    return queue;
  }

  async #split(id: string, term: number): Promise<void> {
    const { store } = this.#deps;
    const created = this.#createdHere(id, term);
    if (created !== undefined) {
      await inSpan(created.job.traceparent, 'split', (traceparent) => this.#splitJob(created.job, term, 0, created.micros, traceparent, created.started), { attributes: { 'ringpool.job.id': id, 'ringpool.term': term } });
      return;
    }
    // One round trip: the job starts (this leader adopts it) and is read, with its type's task time.
    // Resume after the last checkpoint: earlier tasks are enqueued. Read as this leader adopts the
    // job, so a checkpoint a deposed leader wrote just before the fence rose counts too.
    const { status, placed: skip, job, taskMicros: micros } = await store.startJob(id, term);
    if (micros !== undefined && job !== undefined) this.#measured.set(job.name, micros);
    if (job === undefined || status !== 'running' || job.progress.total !== null) return;
    await inSpan(job.traceparent, 'split', (traceparent) => this.#splitJob(job, term, skip, micros, traceparent), { attributes: { 'ringpool.job.id': id, 'ringpool.term': term } });
  }

  /**
   * A job the API in this process is creating (local-creations.ts), of a type whose tasks were
   * measured short here: split from the record its creation stores while start-job.lua adopts it
   * (`started`, awaited before the split writes: #enqueue), so that a handed run (local-handoff.ts)
   * starts a round trip sooner. Undefined for any other job: read back by start-job.lua first.
   */
  #createdHere(id: string, term: number): { job: JobRecord; micros: number; started: Promise<StartedJob> } | undefined {
    const job = this.#deps.localCreations?.recordOf(id);
    const micros = job === undefined ? undefined : this.#measured.get(job.name);
    if (job === undefined || micros === undefined || micros > HANDED_MAX_MICROS) return undefined;
    const started = this.#deps.store.startJob(id, term);
    started.then((s) => {
      if (s.taskMicros !== undefined) this.#measured.set(job.name, s.taskMicros);
    }, () => {});
    return { job, micros, started };
  }

  /** The split itself, from task `skip` on; its entries carry `traceparent` (the split's span) when the job is traced. `started`: see #createdHere. */
  async #splitJob(job: JobRecord, term: number, skip: number, micros: number | undefined, traceparent: string | undefined, started?: Promise<StartedJob>): Promise<void> {
    const { store, membership } = this.#deps;
    const id = job.id;
    const loaded = await this.#moduleOf(job, term);
    if (loaded === undefined) return;
    // The type's result size is read at the first checkpoint, not here: a small job starts without that round trip.
    const batches = new EntryBatcher(job, term, batchShape(micros, this.#options, job.options.batchSize), traceparent, job.options.batchSize > 0 ? Infinity : this.#options.maxEntryBytes);
    // A re-split (a retry, or a new leader resuming) enqueues only tasks without a stored result; what the split writes with ctx.log goes in the job's log before the tasks placed after it.
    const split: SplitState = { job, term, micros, batches, lines: new LogLines('split'), resplit: job.progress.done > 0, enqueued: false, started };
    const lines = split.lines;
    const enqueueAll = (total?: number) => this.#enqueue(split, total);

    const keyOf = loaded.module.keyOf;
    const nodes = await membership.waitForNodes();
    let ring = this.#placement.ringFor(nodes);
    let sole = soleNode(nodes);
    // The first checkpoint comes early, so no thread idles while the rest is split and enqueued.
    const threads = nodes.reduce((sum, n) => sum + n.weight, 0);
    // Fair share applies from the first checkpoint on: a job's opening entries go at once, so a small job never waits for its window;
    // they are cut to fit it, as at every checkpoint (one opening entry larger than the window held the split until it had all run: docs/tenants.md).
    this.#fair.join(id, this.#claimOf(job));
    let nextCheckpoint = skip + openingCheckpoint(micros, job.options.batchSize, batches.shape, threads, this.#options.checkpointEvery);
    if (job.options.batchSize === 0) batches.reshape(fitToWindow(batches.shape, this.#fair.entryWindow(id, threads, micros), nodes.length));
    let index = 0;
    let tasks: Iterator<unknown> | AsyncIterator<unknown> | undefined;
    let finished = false;
    // Tasks placed on the sole node count in its load together: every 64 tasks (SLICE_CHECK_EVERY), at a checkpoint, at the end.
    const onSole = this.#loads.tally(id);
    try {
      tasks = taskIterator(loaded.module.split(job.input, { blobs: blobReader(this.#deps.blobs), log: (...args: unknown[]) => lines.write(null, 'split', args) }));
      let sliceStart = performance.now();
      for (;;) {
        const next = tasks.next();
        // A sync split (a generator, an array) is read without a promise per task: for-await would make one for each.
        const step = isThenable(next) ? await next : next;
        if (step.done === true) break;
        // As for-await: a promise yielded by a sync split is awaited.
        const task: unknown = isThenable(step.value) ? await step.value : step.value;
        if ((index & (SLICE_CHECK_EVERY - 1)) === 0) {
          onSole.flush();
          // Bounded slices: let timers and I/O (Raft heartbeats) run between pieces of a long split.
          if (performance.now() - sliceStart > SPLIT_SLICE_MS) {
            await new Promise((r) => setImmediate(r));
            sliceStart = performance.now();
          }
        }
        if (index >= skip) {
          if (sole !== undefined && keyOf === undefined) {
            // One node: every task goes there (as the ring, bounded or not, would say), no key to hash.
            onSole.add(sole);
            batches.add(sole, [index, task]);
          } else {
            const key = taskKey(keyOf, id, index, task);
            // A module's own keys are grouped in their entry (EntryBatcher: one cache load per key and entry).
            batches.add(this.#place(ring, id, key), [index, task], keyOf === undefined ? undefined : key);
          }
        }
        index++;
        if (index > this.#options.maxTasksPerJob) {
          throw new RingpoolError('TOO_MANY_TASKS', `split yielded more than ${this.#options.maxTasksPerJob} tasks (maxTasksPerJob)`);
        }
        if (index >= nextCheckpoint) {
          onSole.flush();
          this.#stopIfClosing();
          await enqueueAll();
          const { status, record, measured, resultBytes } = await this.#checkpoint(id, term, index, job.name);
          if (store.isTerminal(status)) return; // cancelled or failed meanwhile
          const now = await this.#awaitCapacity(id, index, measured, record);
          ring = this.#placement.ringFor(now.nodes);
          sole = soleNode(now.nodes);
          const shape = batchShape(measured, this.#options, job.options.batchSize, resultBytes);
          batches.reshape(job.options.batchSize > 0 ? shape : fitToWindow(shape, now.entryWindow, now.nodes.length));
          nextCheckpoint = index + checkpointWithin(checkpointAfter(batches.shape, this.#options.checkpointEvery), now.window);
        }
      }
      onSole.flush();
      finished = true;
      if (!(await enqueueAll(index))) await store.recordSplit(id, term, index, index);
      if (index === 0) await this.#reduce(id, term); // nothing to run: reduce the empty list now
    } catch (err) {
      await this.#splitFailed(split, err);
    } finally {
      // A split left early (cancelled, an error, a closing leader) closes its generator, as for-await would.
      if (!finished) await Promise.resolve(tasks?.return?.()).catch(() => {});
      this.#fair.leave(id);
    }
  }

  /**
   * The split's sealed entries enqueued (and the lines it wrote logged before them); `total`: the
   * split has ended with this many tasks. Resolves true if there is no split to record: a run here
   * ended the job (#handOver), or the job turned out not this leader's to split (`started`).
   */
  async #enqueue(split: SplitState, total?: number): Promise<boolean> {
    const { job, term, batches } = split;
    const lines = split.lines.take();
    const ready = batches.takeReady();
    if (split.resplit) await this.#dropStored(job.id, ready);
    if (total !== undefined && !split.enqueued) markWhole(job, ready, total, this.#options.maxJobResultBytes);
    // A run handed over at once, unless the split wrote lines: those reach the job's log first.
    const early = lines.length === 0 ? this.#handOver(ready, split.micros) : undefined;
    if (split.started !== undefined) {
      // Split from the record the API here created (#createdHere): nothing is written before start-job.lua adopted the job.
      const started = await split.started.catch((err: unknown) => {
        early?.catch(() => {}); // its write is fenced as any entry's; this split's error is what counts
        throw err;
      });
      split.started = undefined;
      if (started.status !== 'running' || started.job === undefined || started.job.progress.total !== null || started.placed !== 0) {
        early?.catch(() => {});
        return true;
      }
    }
    await this.#appendLines(job.id, lines);
    if (ready.size === 0) return false;
    split.enqueued = true;
    this.#lastPlacement = { term, at: Date.now() };
    const handed = early ?? (lines.length > 0 ? this.#handOver(ready, split.micros) : undefined);
    if (handed !== undefined) return await handed;
    await this.#addEntries(ready);
    return false;
  }

  /** A split that threw: the job fails with its error, after the lines it wrote (often why). Redis trouble is not the job's fault: rethrown, the leader's sweep resumes from the last checkpoint. */
  async #splitFailed(split: SplitState, err: unknown): Promise<void> {
    const { job: { id }, term } = split;
    const lines = split.lines.take();
    if (isInfrastructureError(err)) throw err;
    // A split begun before start-job.lua answered (#createdHere) fails the job only if the job is this leader's to split.
    if (split.started !== undefined && (await split.started).status !== 'running') return;
    this.#deps.logger.warn({ jobId: id, err: serializeError(err) }, 'split failed');
    await this.#appendLines(id, lines);
    await this.#deps.store.failJob(id, term, prefixMessage(err, 'split failed'));
  }

  /** Lines a split or a reduce wrote, into the job's log: best effort, as a task's (a failed write is logged, the job goes on). */
  async #appendLines(jobId: string, lines: readonly LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.#deps.store.appendTaskLogs(jobId, lines, this.#deps.schedulerId ?? 'scheduler', 0).catch((err: unknown) => {
      this.#deps.logger.warn({ jobId, err: serializeError(err) }, 'could not append the log lines of a split or a reduce');
    });
  }

  /** Each node's entries in one call; a lone entry by `add` (the same script, without the MULTI that addBulk builds around it). */
  async #addEntries(ready: ReadonlyMap<string, QueueEntry[]>): Promise<void> {
    await Promise.all(
      [...ready].map(([node, list]) => {
        const [only] = list;
        return list.length === 1 && only !== undefined ? this.#queue(node).add(only.name, only.data, only.opts) : this.#queue(node).addBulk(list as never);
      }),
    );
  }

  /**
   * A whole job's only entry, run by the worker in this process instead of queued (local-handoff.ts),
   * when its type's tasks are measured short and a thread is free there: undefined if not, else
   * true once that run ended the job. A run that failed is queued then, carrying its attempt, and
   * the queue retries it (after the first backoff) as often as the job allows.
   */
  #handOver(ready: ReadonlyMap<string, QueueEntry[]>, micros: number | undefined): Promise<boolean> | undefined {
    const [placed, ...others] = ready;
    if (placed === undefined || others.length > 0 || micros === undefined || micros > HANDED_MAX_MICROS) return undefined;
    const [node, [entry, ...rest]] = placed;
    if (entry === undefined || rest.length > 0) return undefined;
    return this.#deps.localHandoff?.take(node, entry.data, entry.opts.attempts)?.catch(async () => {
      const data = { ...entry.data, priorAttempts: 1 };
      await this.#queue(node).add(entry.name, data, { ...entry.opts, attempts: Math.max(1, (entry.opts.attempts ?? 1) - 1), delay: HANDED_RETRY_DELAY_MS });
      return false;
    });
  }

  /** The job's weight in fair share: its tenant's weight times its priority (docs/tenants.md). */
  #claimOf(job: JobRecord): ShareClaim {
    const tenant = job.tenant;
    return { tenant, weight: (this.#deps.tenantWeight?.(tenant) ?? 1) * jobPriority(job.options) };
  }

  /** The node a task goes to, counted in its in-flight load. */
  #place(ring: HashRing, jobId: string, key: string): string {
    // With straggler handling on, a node measured slower holds proportionally fewer (node-loads.ts weightedLoads).
    const node = this.#placement.place(ring, key, this.#options.stealAfterMs > 0 ? this.#loads.weightedLoads : this.#loads.loads) as string;
    this.#loads.placed(jobId, node);
    return node;
  }

  /**
   * A checkpoint (`placed` tasks enqueued, record-split.lua, acknowledged) and what it reads, in
   * one socket write: the reads queue behind the checkpoint's `WAIT` on the connection, so they see
   * it, a round trip sooner than sent after it. They are the job's record (its stored results per
   * node lower the in-flight loads; its progress is the capacity wait's first look) and its type's
   * measured task time and result size.
   */
  async #checkpoint(jobId: string, term: number, placed: number, jobType: string): Promise<{ status: JobStatus | 'missing'; record: JobRecord | undefined; measured: number | undefined; resultBytes: number | undefined }> {
    const { store } = this.#deps;
    const [status, record, measured, resultBytes] = await store.together(() => Promise.all([store.recordSplit(jobId, term, placed), store.getJob(jobId), store.results.taskMicros(jobType), store.results.resultBytes(jobType)]));
    this.#countLoads(jobId, record);
    return { status, record, measured, resultBytes };
  }

  /** The job's record (undefined: expired) lowers its in-flight loads, or stops them counting once it has ended. */
  #countLoads(jobId: string, job: JobRecord | undefined): void {
    if (job === undefined || this.#deps.store.isTerminal(job.status)) this.#loads.forget(jobId);
    else this.#loads.acknowledge(jobId, job.tasksPerNode, job.runMicrosPerNode);
  }

  /** One round of work stealing (stealing.ts); counted per job and in /metrics. */
  async #steal(term: number): Promise<void> {
    try {
      const nodes = this.#deps.membership.current();
      if (nodes.length < 2) return;
      const report = await stealFromStragglers({
        nodes,
        ring: this.#placement.ringFor(nodes),
        term,
        store: this.#deps.store,
        queueFor: (node) => this.#queue(node),
        stealAfterMs: this.#options.stealAfterMs,
        slowness: this.#loads.slowness,
        speculated: this.#speculated,
      });
      for (const [jobId, tasks] of report.stolenByJob) {
        this.#deps.metrics?.stolenTasks.inc(tasks);
        await this.#deps.store.results.countPlacement(jobId, 'stolenTasks', tasks);
      }
      for (const [jobId, tasks] of report.speculatedByJob) {
        this.#deps.metrics?.speculatedTasks.inc(tasks);
        await this.#deps.store.results.countPlacement(jobId, 'speculatedTasks', tasks);
      }
      if (this.#speculated.size > 10_000) this.#speculated.clear();
      if (report.entries > 0 || report.withdrawn > 0) this.#deps.logger.debug({ entries: report.entries, withdrawn: report.withdrawn, slowness: Object.fromEntries(this.#loads.slowness) }, 'stole waiting entries for nodes with free threads');
    } catch (err) {
      this.#deps.logger.warn({ err: serializeError(err) }, 'work stealing failed this round; will retry');
    }
  }

  /**
   * Every counted job's loads, read again (the membership loop calls it about once a second). The
   * records are read in one socket write: under a stream of small jobs a few hundred are counted,
   * and a write each cost the leader's event loop a system call per job (docs/performance.md, `latency`).
   */
  async #refreshLoads(): Promise<void> {
    const { store } = this.#deps;
    try {
      const ids = this.#loads.jobs();
      const jobs = await store.together(() => Promise.all(ids.map((id) => store.getJob(id))));
      ids.forEach((id, i) => this.#countLoads(id, jobs[i]));
    } catch (err) {
      this.#deps.logger.debug({ err: serializeError(err) }, 'could not read the jobs\' stored results per node; loads kept as they were');
    }
  }

  /** A closing scheduler stops a split at its next checkpoint; the next leader resumes from it. */
  #stopIfClosing(): void {
    if (!this.#running || this.#deps.leadership.term === undefined) {
      throw new RingpoolError('NOT_LEADER', 'this scheduler stopped leading; the split resumes on the next leader');
    }
  }

  /** Takes out of the sealed entries every task that already has a stored result. */
  async #dropStored(jobId: string, ready: Map<string, QueueEntry[]>): Promise<void> {
    for (const [node, entries] of ready) {
      const kept: QueueEntry[] = [];
      for (const entry of entries) {
        const left = unstoredEntry(entry, await this.#deps.store.results.storedIndices(jobId, batchTasks(entry.data).map(([i]) => i)));
        if (left !== undefined) kept.push(left);
      }
      ready.set(node, kept);
    }
  }

  /**
   * Back-pressure and fair share: waits while the job's placed tasks without a result fill its
   * window (fair-share.ts), recomputed on every look as jobs start and end and nodes come and go;
   * its tasks take `micros` µs. Returns the nodes and the windows it last saw (FairShare.entryWindow: what entries fit).
   * `read`: the job's record, read just now; the first look goes by it.
   */
  async #awaitCapacity(id: string, placed: number, micros: number | undefined, read: JobRecord | undefined): Promise<{ nodes: readonly MemberNode[]; window: number; entryWindow: number }> {
    for (let look = 0; ; look++) {
      this.#stopIfClosing();
      const nodes = await this.#deps.membership.waitForNodes();
      const threads = nodes.reduce((sum, n) => sum + n.weight, 0);
      const job = look === 0 ? read : await this.#deps.store.getJob(id);
      const full = job !== undefined && placed - job.progress.done >= this.#fair.window(id, threads, micros);
      if (job !== undefined) this.#fair.observe(id, job.progress.done, Date.now(), threads, full);
      const window = this.#fair.window(id, threads, micros);
      const seen = { nodes, window, entryWindow: this.#fair.entryWindow(id, threads, micros) };
      if (job === undefined || this.#deps.store.isTerminal(job.status)) return seen;
      if (placed - job.progress.done < window) return seen;
      await this.#nextProgress(id, nodes);
    }
  }

  /**
   * Until the job may have progressed: its next results' write here, or the next poll. Where every
   * node is this process's worker, every write is told (local-progress.ts) and the poll is long.
   */
  #nextProgress(id: string, nodes: readonly MemberNode[]): Promise<void> {
    const local = this.#deps.localProgress;
    if (local === undefined) return sleep(CAPACITY_POLL_MS);
    const allHere = nodes.length === 1 && nodes[0]?.id === local.workerId;
    return local.next(id, allHere ? TOLD_POLL_MS : CAPACITY_POLL_MS);
  }

  /**
   * The module of the version the job was submitted to, whatever is active now. A job type this
   * scheduler does not have fails the job; any other error (Redis lost while reading a deployed
   * version) is thrown, and the job is resumed later.
   */
  async #moduleOf(job: JobRecord, term: number): Promise<ServedJob | undefined> {
    try {
      return await this.#deps.registry.resolve(job.name, job.version);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'UNKNOWN_JOB_TYPE') throw err;
      await this.#deps.store.failJob(job.id, term, { code: 'UNKNOWN_JOB_TYPE', message: `scheduler: ${(err as Error).message}` });
      return undefined;
    }
  }

  async #reduce(id: string, term: number): Promise<void> {
    const { store } = this.#deps;
    // The results are read with the record (one round trip): a reduce that turns out not to be due is rare.
    const [job, batches] = await store.together(() => Promise.all([store.getJob(id), store.results.readResultBatches(id)]));
    const total = job?.progress.total ?? null;
    if (job === undefined || job.status !== 'running' || total === null) return;
    await inSpan(job.traceparent, 'reduce', () => this.#reduceJob(job, total, batches, term), { attributes: { 'ringpool.job.id': id, 'ringpool.reduced_on': 'scheduler' } });
  }

  /** Reduces the job's results (`batches`) in the reduce thread and ends the job with the outcome. */
  async #reduceJob(job: JobRecord, total: number, batches: ResultBatches, term: number): Promise<void> {
    const { store } = this.#deps;
    const id = job.id;
    const loaded = await this.#moduleOf(job, term);
    if (loaded === undefined) return;
    const failed = await this.#toleratedFailures(job, total, term);
    if (failed === undefined) return;
    const request: ReduceRequest = {
      modulePath: await threadModule(loaded.path),
      input: job.input,
      total,
      batches,
      failed,
      resultType: job.resultType,
      maxResultBytes: this.#options.maxJobResultBytes,
      jobId: id,
      ...(this.#deps.blobs === undefined ? {} : { blobStore: this.#deps.blobs }),
    };
    let outcome: ReduceOutcome & { logs?: LogLine[] };
    try {
      // Transferred, not cloned: this thread keeps none of the job's results while the reduce runs.
      outcome = (await this.#reducePool.run(request, { transferList: [batches.bytes.buffer] })) as Awaited<ReturnType<typeof reduceInThread>>;
    } catch (err) {
      outcome = { error: serializeError(err, 'TASK_FAILED') }; // the thread itself died
    }
    // The reduce's lines are in the job's log before its end is: a client that saw the end reads them.
    if (outcome.logs !== undefined) await this.#appendLines(id, outcome.logs);
    if ('error' in outcome) {
      await store.failJob(id, term, prefixMessage(outcome.error, 'reduce failed'));
      return;
    }
    await store.completeJobWith(id, term, 'json' in outcome ? outcome.json : Buffer.from(outcome.bytes), job.options.resultTtlSec);
  }

  /**
   * The tasks of the job that failed within its tolerance (docs/tenants.md "Tolerated failures"),
   * for its reduce. A ratio is checked here, once the task count is known: beyond it the job fails
   * with its first task error, as a job without tolerance would have (undefined then).
   */
  async #toleratedFailures(job: JobRecord, total: number, term: number): Promise<ReduceRequest['failed']> {
    if (job.progress.failed === 0) return [];
    const errors = await this.#deps.store.taskErrors(job.id);
    const allowed = failureAllowance(job.options, total);
    const [first] = errors;
    if (errors.length > allowed && first !== undefined) {
      const message = `${errors.length} of ${total} tasks failed, more than maxFailedTasks/maxFailedRatio allow (${allowed}); first: ${first.message}`;
      await this.#deps.store.failJob(job.id, term, { ...first, message });
      return undefined;
    }
    return errors.map(({ taskIndex, code, message }) => ({ index: taskIndex, error: { code, message } }));
  }

  async close(): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.#wakeMembershipLoop();
    // Ends a blocking pop now, not at its timeout; a notice it took is picked up by the next leader (#resumeAll).
    this.#deps.blocking.disconnect();
    // Bounded: with Redis gone, a blocking pop or a write may never answer.
    await Promise.race([Promise.allSettled([this.#loop, this.#watch, this.#schedules.close(), ...this.#working.values()]), sleep(5_000)]);
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    await this.#reducePool.close({ force: true });
  }
}

/** A split or reduce that threw fails the job with the module's own message and stack. */
function prefixMessage(err: unknown, what: string) {
  const e = serializeError(err, 'TASK_FAILED');
  return e.code === 'TASK_FAILED' ? { ...e, message: `${what}: ${e.message}` } : e;
}

/** The only node of a one-node cluster; undefined when there are more. */
function soleNode(nodes: readonly MemberNode[]): string | undefined {
  return nodes.length === 1 ? nodes[0]?.id : undefined;
}

/** The split's tasks one at a time: a sync iterable's iterator as it is (no promise per task), an async one's otherwise. */
function taskIterator(tasks: Iterable<unknown> | AsyncIterable<unknown>): Iterator<unknown> | AsyncIterator<unknown> {
  if (tasks !== null && typeof (tasks as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function') return (tasks as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  if (tasks !== null && typeof (tasks as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function') return (tasks as Iterable<unknown>)[Symbol.iterator]();
  throw new RingpoolError('TASK_FAILED', `split must return an iterable or an async iterable of tasks, got ${tasks === null ? 'null' : typeof tasks}`);
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && typeof value === 'object' && typeof (value as Partial<PromiseLike<T>>).then === 'function';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Failures of Redis or of leadership, as opposed to a job module's own errors. */
function isInfrastructureError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'STALE_TERM' || code === 'NOT_LEADER' || isTransientRedisError(err);
}

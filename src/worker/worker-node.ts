// A worker node: registers itself, takes task batches from its BullMQ queue and runs them on its thread pool.
import type { BlobRuntime } from '../blobs/blob-store.js';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RingpoolError, isTransientRedisError, serializeError } from '../errors.js';
import { isNodeId } from '../node-id.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';
import type { JobResolver, ServedJob } from '../registry/live-registry.js';
import { threadModule } from '../registry/thread-code.js';
import type { JobStore, PlacementView } from '../store/job-store.js';
import type { AcknowledgedEnd, LocalEnds } from '../store/local-ends.js';
import type { LocalProgress } from '../store/local-progress.js';
import type { HandedEntry, LocalHandoff } from '../transport/local-handoff.js';
import type { StoredFrom, StoredResults } from '../store/result-store.js';
import type { PackedResults } from '../store/result-blobs.js';
import type { WorkerStore } from '../store/worker-store.js';
import { batchStamp, batchTasks, type TaskBatch, type WholeJob } from '../transport/task-batch.js';
import type { Metrics } from '../observability/metrics.js';
import { inChildSpan, pastSpan, startSpan, type Span } from '../observability/tracing.js';
import { signRegistration } from '../transport/registration-signature.js';
import { closeBullmqConnection } from '../store/bullmq-connection.js';
import { TaskPool, type TasksJson } from './task-pool.js';
import { NodeCache } from './node-cache.js';
import { jobEnding, retriesEntry, unstoredTasks, verdictOf, wholeJobOf } from './batch-decisions.js';
import type { BatchOutcome } from './task-runner.js';

export interface WorkerNodeOptions {
  /** Node id: letters, digits, dashes. */
  readonly id: string;
  /** @default os.availableParallelism() */
  readonly threads?: number;
  /** Queue entries held per thread, so threads never wait on a Redis round-trip. @default 2 */
  readonly prefetchPerThread?: number;
  /** How often the registration is renewed, ms. @default 500 */
  readonly heartbeatMs?: number;
  /** Largest JSON result of one task, bytes; a larger one fails the task, not retried. @default 8388608 */
  readonly maxTaskResultBytes?: number;
  /** Signs the registration (HMAC) so the schedulers admit only cluster members. */
  readonly clusterSecret?: string;
  /** Bytes the node's cache (`ctx.cache`, shared by its threads) keeps; 0 keeps nothing. @default 268435456 */
  readonly cacheBytes?: number;
  /** BENCH ONLY (config.ts benchSlowdown): this node's threads run k× slower. @default 1 */
  readonly benchSlowdown?: number;
  /** Called once when an operator asks this node to drain (`POST /v1/workers/:id/drain`). */
  readonly onDrainRequested?: () => void;
  /** The blob store its threads open (`ctx.blobs`, results by reference; docs/blobs.md). @default none */
  readonly blobs?: BlobRuntime;
}

export interface WorkerNodeDeps {
  readonly store: JobStore;
  readonly registry: JobResolver;
  /** For BullMQ (its connections need `maxRetriesPerRequest: null`); `close()` disconnects it. */
  readonly bullConnection: Redis;
  /** A connection of its own for the cancel channel. */
  readonly subscriber: Redis;
  /** Where the registration is renewed: on a connection of its own, never queued behind a result's WAIT. */
  readonly heartbeat: WorkerStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /**
   * Whether this node can take and finish work now (its queue and store connections answer). While
   * it cannot, it does not heartbeat: its lease lapses and the leader moves its tasks, as for a
   * dead node; it registers again once it can. @default always
   */
  readonly canWork?: () => boolean;
  /** Told of the ends this node's writes make (a whole job's), for an API in the same process: local-ends.ts. */
  readonly localEnds?: LocalEnds;
  /** Told of each entry's results written, for a scheduler in the same process (local-progress.ts). */
  readonly localProgress?: LocalProgress;
  /** Short whole jobs a leader in the same process hands over instead of queueing them (local-handoff.ts). */
  readonly localHandoff?: LocalHandoff;
}

/** Read once: os.hostname() is a system call, and the registration is written twice a second. */
const HOST = hostname();

export interface WorkerRegistration {
  readonly id: string;
  readonly threads: number;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly busy: number;
  readonly draining: boolean;
  /**
   * The client id of the connection that writes this registration: the leader takes the node for
   * dead as soon as that connection is closed (a killed process), before its lease lapses. Absent
   * where the server refuses CLIENT ID.
   */
  readonly conn?: number;
}

export class WorkerNode {
  readonly id: string;
  readonly #deps: WorkerNodeDeps;
  readonly #pool: TaskPool;
  /** The node's cache behind `ctx.cache`, shared by the pool's threads. */
  readonly #cache: NodeCache;
  readonly #concurrency: number;
  readonly #heartbeatMs: number;
  readonly #startedAt = Date.now();
  /** Job id → controller aborted when the job is cancelled. */
  readonly #cancels = new Map<string, AbortController>();
  #worker: Worker<TaskBatch> | undefined;
  /** Stops the heartbeat; undefined before it starts and once it stops. */
  #heartbeat: (() => void) | undefined;
  #draining = false;
  #closed = false;
  #closingSince: number | undefined;
  readonly #views = new Map<string, PlacementView & { at: number }>();
  /** Job id → its entries running here: what a backup copy's announcement (`won:`) is checked against. */
  readonly #running = new Map<string, Set<RunningEntry>>();
  readonly #onDrainRequested: (() => void) | undefined;
  readonly #maxTaskResultBytes: number;
  readonly #clusterSecret: string | undefined;
  readonly #blobs: BlobRuntime | undefined;

  constructor(deps: WorkerNodeDeps, options: WorkerNodeOptions) {
    if (!isNodeId(options.id)) throw new RingpoolError('CONFIG', `worker id must be letters, digits, '_' or '-' (at most 63), got ${JSON.stringify(options.id)}`);
    const prefetch = options.prefetchPerThread ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RingpoolError('CONFIG', `prefetchPerThread must be an integer >= 1, got ${prefetch}`);
    this.id = options.id;
    this.#deps = deps;
    this.#cache = new NodeCache(options.cacheBytes ?? 256 * 1024 * 1024);
    this.#pool = new TaskPool({ cache: this.#cache, slowdown: options.benchSlowdown ?? 1, ...(options.threads === undefined ? {} : { threads: options.threads }) });
    this.#concurrency = this.#pool.threads * prefetch;
    this.#heartbeatMs = options.heartbeatMs ?? 500;
    this.#onDrainRequested = options.onDrainRequested;
    this.#maxTaskResultBytes = options.maxTaskResultBytes ?? 8 * 1024 * 1024;
    this.#clusterSecret = options.clusterSecret;
    this.#blobs = options.blobs;
  }

  get threads(): number {
    return this.#pool.threads;
  }

  async start(): Promise<void> {
    const { store, subscriber, bullConnection } = this.#deps;
    await store.onCancelled(subscriber, (jobId) => {
      this.#cancelFor(jobId).abort();
      this.#deps.localProgress?.changed(jobId); // a split here waiting for room stops now
    });
    await store.onCopyWon(subscriber, (jobId) => this.#checkRivals(jobId));
    this.#worker = store.workers.worker(this.id, (job) => this.#delivered(job), {
      connection: bullConnection,
      concurrency: this.#concurrency,
      // CPU work runs in threads, so this event loop stays free to renew locks (BullMQ #652).
      lockDuration: 10_000,
      // An entry whose lock nobody renews (a reply lost in a failover) is taken back within
      // seconds; it may stall a few times in a long failover before it counts as failed.
      stalledInterval: 5_000,
      maxStalledCount: 3,
      autorun: true,
    });
    this.#worker.on('error', (err) => this.#deps.logger.warn({ err }, 'worker queue error'));
    await this.#worker.waitUntilReady();
    // A short whole job from a leader here runs on a free thread at once, with no queue entry.
    this.#deps.localHandoff?.serve(
      this.id,
      () => !this.#draining && this.#pool.busy < this.#pool.threads,
      (entry) => {
        this.#deps.metrics?.handedEntries.inc({ node: this.id });
        return this.#process(entry);
      },
    );
    await this.#register();
    // A new connection has a new client id: registered at once, so the leader does not take the
    // old one's closing for this node's death (scheduler/membership.ts).
    this.#deps.heartbeat.onReconnect(() => {
      if (this.#heartbeat !== undefined && this.#deps.canWork?.() !== false) this.#register().catch(() => {});
    });
    let silent = false;
    const beat = () => {
      if (this.#deps.canWork?.() === false) {
        if (!silent) this.#deps.logger.warn({ id: this.id }, 'cannot reach Redis on every connection: not heartbeating until it can (the leader moves this node\'s tasks when its lease lapses)');
        silent = true;
        return;
      }
      if (silent) this.#deps.logger.info({ id: this.id }, 'connections answer again: heartbeating');
      silent = false;
      // One round trip: the registration renewed and a drain request taken.
      this.#register(Date.now(), true).then(
        (asked) => {
          if (asked && !this.#draining) {
            this.#deps.logger.info({ id: this.id }, 'drain requested: finishing the tasks in flight, then leaving');
            (this.#onDrainRequested ?? (() => void this.close()))();
          }
        },
        (err: unknown) => this.#deps.logger.warn({ err }, 'heartbeat failed'),
      );
    };
    // On the idle grid when the period fits it (500 ms by default): with the process's other idle
    // loops, so an idle node wakes once for all of them (docs/performance.md, "Idle").
    this.#heartbeat =
      this.#heartbeatMs % IDLE_GRID_MS === 0 ? idleGrid.every(this.#heartbeatMs, beat) : clearInterval.bind(null, setInterval(beat, this.#heartbeatMs));
  }

  /** Writes the registration; with `takeDrain`, also takes a drain request (resolves true if there was one). */
  async #register(heartbeatAt = Date.now(), takeDrain = false): Promise<boolean> {
    const conn = await this.#deps.heartbeat.connectionId();
    const registration: WorkerRegistration = {
      id: this.id,
      threads: this.#pool.threads,
      host: HOST,
      pid: process.pid,
      startedAt: this.#startedAt,
      heartbeatAt,
      busy: this.#pool.busy,
      draining: this.#draining,
      ...(conn === undefined ? {} : { conn }),
    };
    const signed = signRegistration(registration, this.#clusterSecret);
    if (takeDrain) return await this.#deps.heartbeat.heartbeat(this.id, signed);
    await this.#deps.heartbeat.register(this.id, signed);
    return false;
  }

  #cancelFor(jobId: string): AbortController {
    let controller = this.#cancels.get(jobId);
    if (controller === undefined) {
      controller = new AbortController();
      // Every thread call of the job in flight listens to it (removed when the call ends).
      setMaxListeners(0, controller.signal);
      this.#cancels.set(jobId, controller);
      // Bounded: the oldest jobs' entries go first (Map keeps insertion order).
      if (this.#cancels.size > 10_000) this.#cancels.delete(this.#cancels.keys().next().value as string);
    }
    return controller;
  }

  /**
   * An entry the queue delivered. One added after a handed run failed (local-handoff.ts) counts that
   * attempt (`priorAttempts`) in its attempts made and allowed, so the job's retries mean the same.
   */
  async #delivered(entry: Job<TaskBatch>): Promise<void> {
    const prior = entry.data.priorAttempts ?? 0;
    await this.#process(prior === 0 ? entry : { id: entry.id, data: entry.data, attemptsMade: entry.attemptsMade + prior, opts: { attempts: (entry.opts.attempts ?? 1) + prior }, timestamp: entry.timestamp, processedOn: entry.processedOn });
  }

  /** Runs an entry's tasks and stores their results; resolves true if that write ended the job (a whole job's, or a task failed for good). */
  async #process(entry: HandedEntry): Promise<boolean> {
    const batch = entry.data;
    const { store, registry } = this.#deps;
    const cancel = this.#cancelFor(batch.jobId);
    if (cancel.signal.aborted) return false;
    // Fencing (docs/architecture.md §2): a later leader re-placed these tasks; the batch's own leader was deposed.
    // Checked here from a view at most 500 ms old, and again, atomically, where results are written.
    const stamp = batchStamp(batch);
    const known = this.#knownView(batch.jobId, batch.rerun ?? 0);
    const before = known === undefined ? undefined : verdictOf(known, stamp);
    if (before === 'ended') return false; // nothing more is stored for an ended job
    if (before === 'stale') return this.#refuse(entry);
    const loaded = await this.#moduleOf(batch);
    if (loaded === undefined) {
      const status = await store.failTask(batch.jobId, batch.firstTask, { code: 'UNKNOWN_JOB_TYPE', message: `worker ${this.id} has no job module named "${batch.job}"${batch.version === undefined ? '' : ` version ${batch.version}`}` }, stamp);
      return status === 'stale' ? this.#refuse(entry) : store.isTerminal(status);
    }
    // The entry's tasks go to the threads as the JSON they came in (TaskBatch.tasksJson).
    let tasks: TasksJson = { json: batch.tasksJson, count: batch.taskCount };
    if (entry.attemptsMade > 0) {
      // A retry: skip the tasks whose results an earlier attempt already stored.
      const all = batchTasks(batch);
      const done = await store.results.storedIndices(batch.jobId, all.map(([i]) => i));
      if (done.size > 0) {
        const left = unstoredTasks(all, done);
        tasks = { json: JSON.stringify(left), count: left.length };
        // An earlier attempt may have stored them without seeing them replicated.
        await this.#untilReplicated(cancel.signal, () => store.confirmReplicated());
      }
    }
    if (tasks.count === 0) return false;
    // An entry that is its whole job (none of it stored before) is reduced in the same thread call.
    const whole = wholeJobOf(batch, tasks.count);
    // The file the threads load: compiled once per process (docs/architecture.md §7, "What the threads load").
    const modulePath = await threadModule(loaded.path);
    const span = batchSpan(entry, this.id);
    try {
      const ran = await this.#runTraced(span, (traced) => this.#run(entry, tasks, modulePath, whole, cancel.signal, known === undefined, traced));
      if (ran?.cache !== undefined) await this.#countCache(batch.jobId, ran.cache);
      if (ran === undefined) return false;
      const ended = await inChildSpan(span, 'store results', () => this.#settle(entry, ran, whole, cancel.signal));
      // A split here waiting for room in the job's window looks again now, not at its next poll.
      this.#deps.localProgress?.changed(batch.jobId);
      return ended;
    } finally {
      span?.end();
    }
  }

  /**
   * The pool call in a `run` span, and under it a `thread` span for each thread call, timed by the
   * thread itself (BatchOutcome.calls: the threads measure, this main thread records; they load no
   * tracing SDK). A whole job reduced in the same call gets a `reduce` span beside it: the part of
   * the call after the tasks' own run time.
   */
  async #runTraced(span: Span | undefined, run: (traced: boolean) => Promise<BatchOutcome | undefined>): Promise<BatchOutcome | undefined> {
    if (span === undefined) return await run(false);
    const started = Date.now();
    let ran: BatchOutcome | undefined;
    await inChildSpan(span, 'run', async (runSpan) => {
      ran = await run(true);
      for (const call of ran?.calls ?? []) pastSpan(runSpan, 'thread', call.startMs, call.endMs, { 'thread.id': call.thread, 'ringpool.tasks': call.tasks, 'ringpool.node': this.id });
      if (ran?.reduced !== undefined) pastSpan(span, 'reduce', Math.min(Date.now(), started + ran.micros / 1000), Date.now(), { 'ringpool.reduced_on': this.id });
    });
    return ran;
  }

  /**
   * The module of the version the batch's job runs: undefined when this node has no such job type
   * (the task fails); any other error (Redis lost while fetching a deployed version) is thrown, so
   * the entry is attempted again.
   */
  async #moduleOf(batch: TaskBatch): Promise<ServedJob | undefined> {
    try {
      return await this.#deps.registry.resolve(batch.job, batch.version ?? null);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'UNKNOWN_JOB_TYPE') return undefined;
      throw err;
    }
  }

  /**
   * Runs the attempt's tasks on the pool. The entry's tasks are shared by the threads, claimed
   * `perCall` at a time (long tasks one by one); their results are written together (#settle),
   * with one script and one WAIT. Undefined when the job was cancelled or ended meanwhile, or the
   * batch turned out stale (refused): nothing is stored then.
   */
  async #run(entry: HandedEntry, tasks: TasksJson, modulePath: string, whole: WholeJob | undefined, cancel: AbortSignal, unseen: boolean, traced: boolean): Promise<BatchOutcome | undefined> {
    const batch = entry.data;
    const halt = new AbortController();
    const onCancel = () => halt.abort(); // the job's cancel stops this entry too
    cancel.addEventListener('abort', onCancel, { once: true });
    if (cancel.aborted) halt.abort();
    // A job this node has not seen lately (`unseen`): its view is read if the tasks still run
    // VIEW_AFTER_MS after they started; if it says the job ended or the batch is stale, the tasks
    // are stopped and nothing is stored. Shorter work is done before the answer could come: the
    // check where results are written (fenced, and refusing ended jobs) stays the authority.
    const verdict = unseen ? this.#deferredVerdict(batch.jobId, batch.rerun ?? 0, batchStamp(batch), halt) : undefined;
    const rival = this.#watchForWinner(batch.jobId, tasks, halt, batch.copy === true);
    const metrics = this.#deps.metrics;
    const timer = metrics?.taskDuration.startTimer({ job_type: batch.job });
    metrics?.inFlight.inc({ node: this.id }, tasks.count);
    const outcome = await this.#pool
      .run({
        modulePath,
        jobId: batch.jobId,
        attempt: entry.attemptsMade,
        tasks,
        ...(batch.perCall === undefined ? {} : { chunk: batch.perCall }),
        timeoutMs: batch.taskTimeoutMs,
        memoryMb: batch.taskMemoryMb,
        maxResultBytes: this.#maxTaskResultBytes,
        cancel: halt.signal,
        ...(whole === undefined ? {} : { reduce: whole }),
        ...(this.#blobs === undefined ? {} : { blobs: this.#blobs }),
        ...(traced ? { traced } : {}),
      })
      .finally(() => {
        cancel.removeEventListener('abort', onCancel);
        void verdict?.settle(); // done: a view not yet read is not read
        rival.stop();
        timer?.();
        metrics?.inFlight.dec({ node: this.id }, tasks.count);
      });
    if (rival.lostAfterMs !== undefined) {
      // A copy elsewhere (stolen or speculative) stored every result first: this one was stopped.
      metrics?.wastedMs.inc(rival.lostAfterMs);
      await this.#deps.store.results.countPlacement(batch.jobId, 'wastedMs', rival.lostAfterMs).catch(() => {});
      return undefined;
    }
    const said = verdict === undefined ? 'run' : await verdict.settle();
    if (said === 'stale') {
      this.#refuse(entry);
      return undefined;
    }
    if (said === 'ended' || cancel.aborted) return undefined;
    return outcome;
  }

  /**
   * Stores the results of the tasks that succeeded (and the job's end, for a whole job reduced in
   * the call); a failed task has BullMQ retry the entry while it has attempts left, else fails.
   * Resolves true if its write ended the job.
   */
  async #settle(entry: HandedEntry, { results, failures, micros, reduced, logs }: BatchOutcome, whole: WholeJob | undefined, cancel: AbortSignal): Promise<boolean> {
    const batch = entry.data;
    const { store, logger, metrics } = this.#deps;
    if (logs !== undefined) {
      // Best effort, beside the results (not acknowledged by the replicas): a lost line costs no result.
      store.appendTaskLogs(batch.jobId, logs, this.id, entry.attemptsMade).catch((err: unknown) => logger.debug({ err: serializeError(err), jobId: batch.jobId }, 'could not append task log lines'));
    }
    const stamp = batchStamp(batch);
    const [failure] = failures;
    const succeeded = results.count;
    let ended = false;
    if (succeeded > 0) {
      const from = { jobType: batch.job, node: this.id, attempt: entry.attemptsMade, batch: stamp, ...(micros > 0 ? { microsPerTask: micros / succeeded } : {}) };
      const ending = jobEnding(whole, reduced);
      const { stored, duplicates, status } = await this.#untilReplicated(cancel, () => this.#storeResults(batch.jobId, results, from, ending));
      if (status === 'stale') return this.#refuse(entry);
      // 'completed' with results stored: this write ended the job (store-results.lua).
      ended = status === 'completed' && stored > 0;
      metrics?.tasksCompleted.inc({ job_type: batch.job }, stored);
      if (duplicates > 0) metrics?.duplicateResults.inc(duplicates);
      // A backup copy that stored first: the node running the original stops it (#checkRivals there).
      if (batch.copy === true && stored > 0) await store.announceCopyWon(batch.jobId).catch(() => {});
    }
    if (failure === undefined) return ended;
    metrics?.tasksFailed.inc({ job_type: batch.job, code: failure.error.code });
    if (retriesEntry(failure, entry.attemptsMade, entry.opts.attempts)) {
      // BullMQ retries the entry with exponential backoff and jitter; stored results are skipped then.
      throw Object.assign(new Error(failure.error.message), { code: failure.error.code });
    }
    logger.debug({ jobId: batch.jobId, task: failure.index, code: failure.error.code }, 'task failed for good');
    // Each failed task, in order: a job that tolerates failures goes on past those within its limits (fail-task.lua).
    for (const failed of failures) {
      const status = await store.failTask(batch.jobId, failed.index, failed.error, stamp);
      if (status === 'stale') return this.#refuse(entry);
      if (store.isTerminal(status)) return true;
    }
    return false;
  }

  /**
   * One attempt at the results' write. One that ends the job (a whole job's: `ending`) tells
   * `localEnds` of the end once the replicas confirmed it, so an API here answers from it.
   */
  async #storeResults(jobId: string, results: PackedResults, from: StoredFrom, ending: ReturnType<typeof jobEnding>): Promise<StoredResults> {
    const { store, localEnds } = this.#deps;
    if (ending === undefined || localEnds === undefined) return await store.results.storePackedResults(jobId, results, from, ending);
    localEnds.begin(jobId);
    let end: AcknowledgedEnd | undefined;
    try {
      const outcome = await store.results.storePackedResults(jobId, results, from, ending);
      // 'completed' with results stored: this write ended the job, with this result (store-results.lua).
      if (outcome.status === 'completed' && outcome.stored > 0) end = { status: 'completed', ...(typeof ending.result === 'string' ? { json: ending.result } : {}) };
      return outcome;
    } finally {
      localEnds.settle(jobId, end);
    }
  }

  /** A batch's asks of the node cache, on the job (its detail) and in /metrics; a failed count is only logged. */
  async #countCache(jobId: string, counts: { readonly hits: number; readonly misses: number }): Promise<void> {
    const { bytes } = this.#cache.stats();
    const metrics = this.#deps.metrics;
    metrics?.cacheHits.inc({ node: this.id }, counts.hits);
    metrics?.cacheMisses.inc({ node: this.id }, counts.misses);
    metrics?.cacheBytes.set({ node: this.id }, bytes);
    await this.#deps.store.results.countCache(jobId, this.id, { ...counts, bytes }).catch((err: unknown) => this.#deps.logger.debug({ err: serializeError(err) }, 'could not count the cache on the job'));
  }

  /** A batch stamped with a stale term is refused: its tasks run from the adopting leader's batches. */
  #refuse(entry: HandedEntry): false {
    this.#deps.logger.info({ jobId: entry.data.jobId, term: entry.data.term, entry: entry.id }, 'refused a batch stamped with a stale term');
    this.#deps.metrics?.staleBatchesRefused.inc();
    return false;
  }

  /**
   * What the job's view says of a batch (run, ended, stale), read only once the batch has run
   * VIEW_AFTER_MS; a verdict other than `run` stops its tasks (`halt`). `settle` (any number of
   * times) once the tasks are done: a view not read by then is not read, and the batch counts as
   * `run`.
   */
  #deferredVerdict(jobId: string, run: number, stamp: ReturnType<typeof batchStamp>, halt: AbortController): { settle(): Promise<'run' | 'ended' | 'stale'> } {
    let verdict: Promise<'run' | 'ended' | 'stale'> | undefined;
    const read = setTimeout(() => {
      verdict = this.#placementView(jobId, run).then(
        (view) => {
          const said = verdictOf(view, stamp);
          if (said !== 'run') halt.abort();
          return said;
        },
        () => 'run' as const, // unreadable now: the write is fenced anyway
      );
    }, VIEW_AFTER_MS);
    return {
      settle: () => {
        clearTimeout(read);
        return verdict ?? Promise.resolve('run');
      },
    };
  }

  /**
   * The loser of a race between an entry and its backup copy (docs/architecture.md §5,
   * stragglers): once all of the tasks' results are stored by the other, the tasks are stopped
   * (`halt`) and `lostAfterMs` says how long they had run. Only entries that have a copy can
   * lose, so nothing here polls Redis for an ordinary entry: it is only registered, and checked
   * (one read) when a copy of its job announces it stored first (#checkRivals). A copy itself
   * (`isCopy`) cannot know when its original ends, so it checks every WINNER_CHECK_MS. Results
   * are first-write-wins anyway: this only stops wasted work early.
   */
  #watchForWinner(jobId: string, tasks: TasksJson, halt: AbortController, isCopy: boolean): { readonly lostAfterMs: number | undefined; stop(): void } {
    const entry: RunningEntry = { tasks, started: Date.now(), halt, lostAfterMs: undefined };
    let entries = this.#running.get(jobId);
    if (entries === undefined) this.#running.set(jobId, (entries = new Set()));
    entries.add(entry);
    const timer = isCopy ? setInterval(() => void this.#checkRival(jobId, entry), WINNER_CHECK_MS) : undefined;
    return {
      get lostAfterMs() {
        return entry.lostAfterMs;
      },
      stop: () => {
        clearInterval(timer);
        const left = this.#running.get(jobId);
        left?.delete(entry);
        if (left?.size === 0) this.#running.delete(jobId);
      },
    };
  }

  /** A copy of some of the job's tasks stored first somewhere: each entry of the job running here is checked. */
  #checkRivals(jobId: string): void {
    for (const entry of this.#running.get(jobId) ?? []) void this.#checkRival(jobId, entry);
  }

  /** Stops the entry if all its results are stored (by another copy): one read. */
  async #checkRival(jobId: string, entry: RunningEntry): Promise<void> {
    try {
      const indices = batchTasks({ tasksJson: entry.tasks.json }).map(([i]) => i);
      const stored = await this.#deps.store.results.storedIndices(jobId, indices);
      if (stored.size < indices.length || entry.halt.signal.aborted) return;
      entry.lostAfterMs = Date.now() - entry.started;
      entry.halt.abort();
    } catch {
      // unreadable now: the tasks run on, their write is first-write-wins
    }
  }

  /**
   * Whether the job has ended and which leaders adopted it, read at most every 500 ms per job
   * (a cancel also arrives on the events channel at once; a stale batch's results are refused
   * where they are written: a late answer here only costs work whose results are then dropped).
   */
  async #placementView(jobId: string, run: number): Promise<PlacementView> {
    const known = this.#knownView(jobId, run);
    if (known !== undefined) return known;
    const now = Date.now();
    const view = { ...(await this.#deps.store.placementView(jobId)), at: now };
    this.#views.set(jobId, view);
    if (this.#views.size > 10_000) this.#views.delete(this.#views.keys().next().value as string);
    return view;
  }

  /**
   * The view of the job read at most 500 ms ago, if any; a view that says the job ended holds for
   * good, for batches of the run it ended (`run`, TaskBatch.rerun): a retry's are read again.
   */
  #knownView(jobId: string, run: number): PlacementView | undefined {
    const known = this.#views.get(jobId);
    if (known === undefined || known.rerun < run) return undefined;
    return known.ended || Date.now() - known.at < 500 ? known : undefined;
  }

  /**
   * Runs a result write until the replicas confirm it. While Redis fails over or a replica lags,
   * the entry stays leased (BullMQ renews the lock) instead of spending the job's task attempts.
   */
  async #untilReplicated<T>(cancel: AbortSignal, write: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        // While draining, give up after a while: a shutdown must not wait on Redis for ever.
        const givingUp = this.#closingSince !== undefined && Date.now() - this.#closingSince > CLOSE_WRITE_PATIENCE_MS;
        if (!isTransientRedisError(err) || cancel.aborted || this.#closed || givingUp) throw err;
        if (attempt % 10 === 0) this.#deps.logger.warn({ err: serializeError(err) }, 'results not confirmed by the replicas yet; retrying');
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2000)));
      }
    }
  }

  /**
   * Drains: stops taking entries (the leader moves the waiting ones elsewhere), lets those in
   * flight finish, then leaves a lapsed registration so the leader moves anything left over.
   */
  async close(): Promise<void> {
    this.#draining = true;
    this.#deps.localHandoff?.stop();
    this.#closingSince = Date.now();
    this.#heartbeat?.();
    this.#heartbeat = undefined;
    await this.#register().catch(() => {});
    // Bounded: BullMQ waits for the entries in flight, and those may wait on a Redis that does not answer.
    const closed = await Promise.race([
      (this.#worker?.close() ?? Promise.resolve()).then(
        () => true,
        (err: unknown) => {
          this.#deps.logger.warn({ err: serializeError(err) }, 'closing the queue worker failed');
          return true;
        },
      ),
      new Promise<false>((r) => setTimeout(() => r(false), QUEUE_CLOSE_PATIENCE_MS).unref()),
    ]);
    if (!closed) this.#deps.logger.warn(`the queue worker did not close within ${QUEUE_CLOSE_PATIENCE_MS} ms; its entries in flight will be taken back`);
    // Handed runs (no queue entry, so BullMQ's close did not wait for them): bounded as the queue's are (they end or are cancelled at the pool's close).
    await Promise.race([this.#deps.localHandoff?.settled(), new Promise((r) => setTimeout(r, QUEUE_CLOSE_PATIENCE_MS).unref())]);
    closeBullmqConnection(this.#deps.bullConnection);
    this.#closed = true;
    await this.#pool.close();
    await this.#register(0).catch(() => {});
    await this.#deps.subscriber.unsubscribe().catch(() => {});
  }
}

/** How long a closing node waits for BullMQ to finish the entries in flight and let go. */
const QUEUE_CLOSE_PATIENCE_MS = 15_000;

/** How long a draining node keeps retrying a result write that Redis does not confirm. */
const CLOSE_WRITE_PATIENCE_MS = 5_000;

/** An entry running on this node, as the winner watch sees it. */
interface RunningEntry {
  /** Its tasks, parsed only if a copy's announcement has them checked. */
  readonly tasks: TasksJson;
  readonly started: number;
  readonly halt: AbortController;
  /** Set when another copy stored all its results first: how long this one had run, ms. */
  lostAfterMs: number | undefined;
}

/** How often a running backup copy (TaskBatch.copy) checks whether its original stored all its results (then it stops). */
const WINNER_CHECK_MS = 500;

/** How long a batch of a job not seen lately runs before its job's view is read (see #process). */
const VIEW_AFTER_MS = 20;

/**
 * The span of a traced job's queue entry, continuing the split that placed it (TaskBatch.traceparent):
 * from its enqueueing, with its `queue.wait` until this node picked it up. Undefined: not traced.
 */
function batchSpan(entry: HandedEntry, node: string): Span | undefined {
  const batch = entry.data;
  const span = startSpan(batch.traceparent, 'batch', {
    startTime: entry.timestamp,
    attributes: { 'ringpool.job.id': batch.jobId, 'ringpool.node': node, 'ringpool.tasks': batch.taskCount, 'ringpool.first_task': batch.firstTask, 'ringpool.attempt': entry.attemptsMade },
  });
  pastSpan(span, 'queue.wait', entry.timestamp, Math.max(entry.timestamp, entry.processedOn ?? Date.now()));
  return span;
}

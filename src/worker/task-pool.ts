// A thin class over piscina pools: runs a batch of tasks in a thread with a hard timeout, cancel and memory limit.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { RingpoolError, serializeError } from '../errors.js';
import { threadExecArgv } from '../registry/import-module.js';
import { threadEntry } from '../registry/thread-code.js';
import type { BlobRuntime } from '../blobs/blob-store.js';
import type { ReduceOutcome, ReduceSpec } from '../registry/reduce-results.js';
import { REDUCING, callCells, createRunControl } from './run-control.js';
import { decodeIndices, type PackedResults } from '../store/result-blobs.js';
import type { BatchOutcome, CallOutcome, FailedOutcome, TaskOutcome, TaskLogLine, ThreadBatch, ThreadCall } from './task-runner.js';
import type { NodeCache } from './node-cache.js';
import { isCachePortMessage, type CacheCounts, type CachePortMessage } from './cache-client.js';

export interface TaskPoolOptions {
  /** Worker threads. @default os.availableParallelism() */
  readonly threads?: number;
  /** After asking a task to stop, how long it has before its thread is terminated, ms. @default 1000 */
  readonly stopGraceMs?: number;
  /** Heap limit of the threads started up front (the jobs' default), MB. @default 512 */
  readonly defaultMemoryMb?: number;
  /** The node's cache, reached by every call over a port of its own (`ctx.cache`); absent: `ctx.cache` always loads. */
  readonly cache?: NodeCache;
  /** BENCH ONLY (config.ts benchSlowdown): each task is followed by (k − 1)× its time asleep on its thread. @default 1 */
  readonly slowdown?: number;
}

export interface BatchRun {
  readonly modulePath: string;
  readonly jobId: string;
  readonly attempt: number;
  /**
   * The tasks as `[index, payload]` pairs (structured clone carries them, and what JSON cannot),
   * or as the JSON of those pairs with their count: a queue entry's, sent to the threads as it
   * came, one string per call (ThreadBatch.tasksJson), never parsed on this thread unless a task
   * fails.
   */
  readonly tasks: ReadonlyArray<readonly [number, unknown]> | TasksJson;
  /** Each task's own limit: the clock restarts as each task of the batch starts. */
  readonly timeoutMs: number;
  readonly memoryMb: number;
  /** Largest JSON result of one task, bytes. */
  readonly maxResultBytes?: number;
  /** Aborted when the job is cancelled. */
  readonly cancel?: AbortSignal;
  /** Tasks a thread claims at a time; the batch runs on up to `threads` threads. @default all (one call) */
  readonly chunk?: number;
  /**
   * The batch is every task of its job (0 … n-1): once all succeeded, reduce their results in the
   * same thread call. Honoured only when the batch runs as one call.
   */
  readonly reduce?: ReduceSpec;
  /** The node's blob store, handed to the thread (ThreadBatch.blobs). */
  readonly blobs?: BlobRuntime;
  /** The job is traced: each thread call reports when it ran (BatchOutcome.calls). */
  readonly traced?: boolean;
}

/** Tasks as the JSON of their `[index, payload]` pairs. */
export interface TasksJson {
  readonly json: string;
  readonly count: number;
}

/** How one thread call of a run ended. */
interface CallResult {
  readonly results: PackedResults;
  readonly failures: FailedOutcome[];
  readonly micros: number;
  readonly stopped: 'TIMEOUT' | 'CANCELLED' | undefined;
  readonly crashed: boolean;
  readonly crash: unknown;
  /** Position of the task the call ran last (-1: none). */
  readonly last: number;
  readonly reduced?: ReduceOutcome;
  /** The call was reducing when it was stopped or its thread died. */
  readonly inReduce: boolean;
  readonly cache?: CacheCounts;
  readonly calls?: ThreadCall[];
  readonly logs?: TaskLogLine[];
}

/** A call in flight as the watchdog sees it. */
interface Watched {
  /** How often this call wants its clock checked, ms. */
  readonly everyMs: number;
  readonly check: (now: number) => void;
}

const ENTRY = new URL('./thread-entry.cjs', import.meta.url);

/** Extra time before the first task starts: a new thread loads the job module first. */
const MODULE_LOAD_ALLOWANCE_MS = 5_000;

export class TaskPool {
  readonly threads: number;
  readonly #stopGraceMs: number;
  readonly #cache: NodeCache | undefined;
  readonly #slowdown: number;
  /** One piscina pool per heap limit: resourceLimits are fixed when a thread starts. */
  readonly #pools = new Map<number, Piscina>();
  #busy = 0;
  /** The calls in flight, each checked against its time limit by the one watchdog timer. */
  readonly #watched = new Set<Watched>();
  #watchdog: NodeJS.Timeout | undefined;
  #watchdogMs = Infinity;
  /**
   * The calls in flight that may use the node cache, by number (ThreadBatch.cacheCall): the port a
   * call opened, once it came (released when the call ends), or nothing yet.
   */
  readonly #cacheCalls = new Map<number, { release: () => void } | undefined>();
  #nextCacheCall = 0;

  constructor(options: TaskPoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new RingpoolError('CONFIG', `threads must be an integer >= 1, got ${threads}`);
    this.threads = threads;
    this.#stopGraceMs = options.stopGraceMs ?? 1000;
    this.#cache = options.cache;
    this.#slowdown = options.slowdown ?? 1;
    // Start every thread now: a thread's start (loader, runtime) must not land on a job's clock.
    this.#pool(options.defaultMemoryMb ?? 512);
  }

  /** Threads running a batch now. */
  get busy(): number {
    return Math.min(this.#busy, this.threads);
  }

  #pool(memoryMb: number): Piscina {
    let pool = this.#pools.get(memoryMb);
    if (pool === undefined) {
      pool = new Piscina({
        filename: threadEntry(ENTRY),
        minThreads: this.threads,
        maxThreads: this.threads,
        // Queue in the pool rather than fail: the BullMQ worker already bounds what is fetched
        // ('auto' would refuse a call once threads² wait, and an entry's calls arrive together).
        maxQueue: Infinity,
        recordTiming: false, // piscina's own run/wait histograms: unused (ringpool measures per task)
        // First come, first served: an entry's results are written once all its calls are done,
        // so a call must not be passed over by later ones (piscina reorders calls that carry an
        // abort signal otherwise).
        stricterFIFO: true,
        idleTimeout: 60_000,
        execArgv: threadExecArgv(),
        // A small young generation keeps idle threads small; task heaps grow in the old generation.
        resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: 8 },
      });
      // A call's port to the node cache, opened by the thread at the call's first `ctx.cache` (cache-client.ts).
      pool.on('message', (message: unknown) => {
        if (isCachePortMessage(message)) this.#acceptCachePort(message);
      });
      this.#pools.set(memoryMb, pool);
    }
    return pool;
  }

  /**
   * One timer checks every call in flight: a timer per call would wake this event loop once per
   * call and period (hundreds of times a second with a few entries' calls queued), and each
   * wake-up costs CPU the threads could use. It ticks at the finest period a call asked for.
   */
  #watch(watched: Watched): void {
    this.#watched.add(watched);
    if (this.#watchdog !== undefined && watched.everyMs >= this.#watchdogMs) return;
    clearInterval(this.#watchdog);
    this.#watchdogMs = Math.min(this.#watchdogMs, watched.everyMs);
    this.#watchdog = setInterval(() => {
      const now = Date.now();
      for (const w of this.#watched) w.check(now);
    }, this.#watchdogMs);
  }

  #unwatch(watched: Watched): void {
    this.#watched.delete(watched);
    if (this.#watched.size > 0) return;
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    this.#watchdogMs = Infinity;
  }

  /**
   * Outcomes for every task of the batch: timed-out, cancelled or crashed tasks get typed errors.
   * The batch runs as up to `threads` calls that claim its tasks `chunk` at a time (all in one
   * call by default), so an entry's long tasks spread over the threads and each thread goes from
   * task to task without waiting on this event loop.
   */
  async run(batch: BatchRun): Promise<BatchOutcome> {
    const json = 'json' in batch.tasks ? batch.tasks : undefined;
    let pairs = 'json' in batch.tasks ? undefined : batch.tasks;
    // The pairs, for what reports on tasks one by one (parsed only then, from the JSON).
    const tasks = () => (pairs ??= JSON.parse(json?.json ?? '[]') as ReadonlyArray<readonly [number, unknown]>);
    const count = json?.count ?? tasks().length;
    const chunk = Math.min(count, Math.max(1, Math.floor(batch.chunk ?? count)));
    const calls = Math.min(this.threads, Math.ceil(count / chunk));
    const cells = createRunControl(calls);
    const reduce = calls === 1 ? batch.reduce : undefined;
    const sent = json === undefined ? { tasks: tasks() } : { tasksJson: json.json };
    const results = await Promise.all(Array.from({ length: calls }, (_, slot) => this.#call(batch, sent, cells, slot, chunk, reduce)));
    // A thread that died in the reduce took its tasks' results with it: they run again without
    // the reduce, and the scheduler's reduce then meets (and reports) the same trouble.
    if (results[0]?.inReduce === true && !batch.cancel?.aborted) return await this.run({ ...batch, reduce: undefined });
    const [only] = results;
    const hits = results.reduce((sum, r) => sum + (r.cache?.hits ?? 0), 0);
    const misses = results.reduce((sum, r) => sum + (r.cache?.misses ?? 0), 0);
    const timed = results.flatMap((r) => r.calls ?? []);
    const logs = results.flatMap((r) => r.logs ?? []);
    const packed = joinResults(results.map((r) => r.results));
    const failures = packed.count === count ? [] : this.#failures(batch, tasks(), results);
    return withOutcomes({
      results: packed,
      failures,
      micros: results.reduce((sum, r) => sum + r.micros, 0),
      ...(hits + misses === 0 ? {} : { cache: { hits, misses } }),
      ...(timed.length === 0 ? {} : { calls: timed }),
      ...(logs.length === 0 ? {} : { logs }),
      ...(only?.reduced === undefined ? {} : { reduced: only.reduced }),
    }, tasks);
  }

  /** One thread call of a run; never rejects: a crash or a stop is part of what it returns. */
  async #call(batch: BatchRun, sent: Pick<ThreadBatch, 'tasks' | 'tasksJson'>, cells: Int32Array, slot: number, chunk: number, reduce: ReduceSpec | undefined): Promise<CallResult> {
    const mine = callCells(slot);
    const hard = new AbortController();
    let stopped: 'TIMEOUT' | 'CANCELLED' | undefined;
    let grace: NodeJS.Timeout | undefined;
    const stop = (why: 'TIMEOUT' | 'CANCELLED') => {
      if (stopped !== undefined) return;
      stopped = why;
      Atomics.store(cells, mine.stop, 1); // ask politely first (cooperative stop)
      grace = setTimeout(() => hard.abort(), this.#stopGraceMs); // then terminate the thread
    };
    // The watchdog restarts a task's clock when the thread reports that the next one started.
    let started = -1;
    let deadline = Infinity;
    const watch: Watched = {
      everyMs: Math.max(5, Math.min(50, batch.timeoutMs / 4)),
      check: (now) => {
        const count = Atomics.load(cells, mine.started);
        if (count !== started) {
          // 0: a thread took the call and loads the module first; n > 0: its task n started.
          deadline = count < 0 ? Infinity : now + batch.timeoutMs + (count === 0 ? MODULE_LOAD_ALLOWANCE_MS : 0);
          started = count;
        } else if (now > deadline) stop('TIMEOUT');
      },
    };
    this.#watch(watch);
    const onCancel = () => stop('CANCELLED');
    if (batch.cancel?.aborted) onCancel();
    batch.cancel?.addEventListener('abort', onCancel);
    const cacheCall = this.#cache === undefined ? undefined : this.#nextCacheCall++;
    if (cacheCall !== undefined) this.#cacheCalls.set(cacheCall, undefined);
    const payload: ThreadBatch = {
      modulePath: batch.modulePath,
      jobId: batch.jobId,
      attempt: batch.attempt,
      ...sent,
      chunk,
      control: cells.buffer as SharedArrayBuffer,
      slot,
      ...(batch.maxResultBytes === undefined ? {} : { maxResultBytes: batch.maxResultBytes }),
      ...(reduce === undefined ? {} : { reduce }),
      ...(batch.blobs === undefined ? {} : { blobs: batch.blobs }),
      ...(cacheCall === undefined ? {} : { cacheCall }),
      ...(this.#slowdown > 1 ? { slowdown: this.#slowdown } : {}),
      ...(batch.traced === true ? { traced: true } : {}),
    };
    this.#busy++;
    try {
      const { results, failures, micros, reduced, cache, calls, logs } = (await this.#pool(batch.memoryMb).run(payload, { signal: hard.signal })) as CallOutcome;
      return { results, failures, micros, stopped, crash: undefined, crashed: false, last: Atomics.load(cells, mine.current), inReduce: false, ...(reduced === undefined ? {} : { reduced }), ...(cache === undefined ? {} : { cache }), ...(calls === undefined ? {} : { calls }), ...(logs === undefined ? {} : { logs }) };
    } catch (crash) {
      const inReduce = Atomics.load(cells, mine.started) === REDUCING;
      return { results: NO_RESULTS, failures: [], micros: 0, stopped, crash, crashed: true, last: Atomics.load(cells, mine.current), inReduce };
    } finally {
      this.#busy--;
      if (cacheCall !== undefined) this.#endCacheCall(cacheCall);
      this.#unwatch(watch);
      clearTimeout(grace);
      batch.cancel?.removeEventListener('abort', onCancel);
    }
  }

  /** A call's port to the node cache came: served until the call ends (at once released if it ended already: the port and the call's result travel apart). */
  #acceptCachePort({ ringpoolCacheCall: call, port }: CachePortMessage): void {
    if (this.#cache === undefined) return void port.close();
    const link = this.#cache.accept(port);
    if (this.#cacheCalls.has(call)) this.#cacheCalls.set(call, link);
    else link.release();
  }

  #endCacheCall(call: number): void {
    this.#cacheCalls.get(call)?.release();
    this.#cacheCalls.delete(call);
  }

  /**
   * The tasks without a result, in task order, each with its error: its own, or why it did not
   * finish (timed out, cancelled, its thread died, never started). Only when some task has no result.
   */
  #failures(batch: BatchRun, tasks: ReadonlyArray<readonly [number, unknown]>, calls: readonly CallResult[]): FailedOutcome[] {
    const succeeded = new Set<number>();
    for (const call of calls) for (const index of decodeIndices(call.results.indices)) succeeded.add(index);
    const failedBy = new Map<number, { outcome: FailedOutcome; call: CallResult }>();
    for (const call of calls) for (const outcome of call.failures) failedBy.set(outcome.index, { outcome, call });
    const crashed = calls.find((c) => c.crashed);
    const failures: FailedOutcome[] = [];
    tasks.forEach(([index], position) => {
      if (succeeded.has(index)) return;
      const got = failedBy.get(index);
      // A call that was stopped ends its current task with an abort error: report why instead.
      if (got !== undefined && (got.call.stopped === undefined || got.call.last !== position)) return void failures.push(got.outcome);
      // The call that was running this task when it was stopped or its thread died.
      const runner = calls.find((c) => c.last === position && (c.stopped !== undefined || c.crashed));
      if (runner?.stopped === 'TIMEOUT') {
        return void failures.push({ index, ok: false, error: { code: 'TIMEOUT', message: `task ${index} exceeded its time limit of ${batch.timeoutMs} ms and was stopped` }, retryable: true });
      }
      if (runner?.stopped === 'CANCELLED') return void failures.push({ index, ok: false, error: { code: 'CANCELLED', message: `task ${index} was cancelled` }, retryable: true });
      if (runner !== undefined) return void failures.push({ index, ok: false, error: crashError(index, batch.memoryMb, runner.crash), retryable: true });
      // Never started: every call stopped or died before claiming it.
      if (crashed !== undefined) return void failures.push({ index, ok: false, error: crashError(index, batch.memoryMb, crashed.crash), retryable: true });
      const cancelled = calls.some((c) => c.stopped === 'CANCELLED');
      const message = cancelled ? `task ${index} was cancelled` : `task ${index} did not run: its batch was stopped when another task timed out`;
      failures.push({ index, ok: false, error: { code: 'CANCELLED', message }, retryable: true });
    });
    return failures;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close({ force: true })));
    this.#pools.clear();
  }
}

const NO_RESULTS: PackedResults = Object.freeze({ indices: '', count: 0, json: '' });

/** The calls' results as one: their indices in turn, their JSON joined (each a JSON array's body). */
export function joinResults(parts: readonly PackedResults[]): PackedResults {
  const some = parts.filter((p) => p.count > 0);
  if (some.length <= 1) return some[0] ?? NO_RESULTS;
  return { indices: some.map((p) => p.indices).join(','), count: some.reduce((n, p) => n + p.count, 0), json: some.map((p) => p.json).join(',') };
}

/** `outcome` with `outcomes`: every task's outcome in task order, built from its packed results and failures when first read. */
function withOutcomes(outcome: CallOutcome, tasks: () => ReadonlyArray<readonly [number, unknown]>): BatchOutcome {
  let outcomes: TaskOutcome[] | undefined;
  return Object.defineProperty(outcome as BatchOutcome, 'outcomes', {
    enumerable: false,
    get: () => (outcomes ??= expandOutcomes(outcome, tasks())),
  });
}

function expandOutcomes({ results, failures }: CallOutcome, tasks: ReadonlyArray<readonly [number, unknown]>): TaskOutcome[] {
  const byIndex = new Map<number, TaskOutcome>();
  const values = JSON.parse(`[${results.json}]`) as unknown[];
  decodeIndices(results.indices).forEach((index, k) => byIndex.set(index, { index, ok: true, json: JSON.stringify(values[k]) }));
  for (const failure of failures) byIndex.set(failure.index, failure);
  return tasks.flatMap(([index]) => byIndex.get(index) ?? []);
}

function crashError(index: number, memoryMb: number, crash: unknown) {
  const code = (crash as { code?: unknown } | undefined)?.code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return serializeError(new RingpoolError('OUT_OF_MEMORY', `task ${index} exceeded its memory limit of ${memoryMb} MB; its thread was replaced`));
  }
  return serializeError(crash ?? new Error(`task ${index} returned no outcome`), 'TASK_FAILED');
}

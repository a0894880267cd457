// Runs a batch of one job's tasks inside a worker thread and reports each task's outcome.
import type { BlobRuntime } from '../blobs/blob-store.js';
import { blobReader } from '../blobs/open.js';
import { goesToBlobs, storeResultJson } from '../blobs/result-refs.js';
import { serializeError, type SerializedError } from '../errors.js';
import { reduceResults, type ReduceOutcome, type ReduceSpec } from '../registry/reduce-results.js';
import { loadJobModule } from '../registry/thread-modules.js';
import type { AnyJob, TaskContext } from '../sdk/index.js';
import { IndexRuns, type PackedResults } from '../store/result-blobs.js';
import { CLAIM_CURSOR, REDUCING, callCells } from './run-control.js';
import { LogLines, type LogLine } from '../log-lines.js';
import { cacheClient, openCachePort, uncached, type CacheCounts, type CacheFn } from './cache-client.js';
import { threadId } from 'node:worker_threads';

export interface ThreadBatch {
  /** Absolute path of the job module (from the registry, never from user input). */
  readonly modulePath: string;
  readonly jobId: string;
  readonly attempt: number;
  /** Every task of the run; each call of the run claims from them (run-control.ts). Absent: `tasksJson`. */
  readonly tasks?: ReadonlyArray<readonly [index: number, payload: unknown]>;
  /**
   * The same tasks as JSON text, when they came through JSON anyway (a queue entry's): a string
   * crosses to the thread as one copy, where an array of a thousand pairs is cloned pair by pair
   * on the node's main thread, once per call (docs/performance.md, `throughput`).
   */
  readonly tasksJson?: string;
  /** Tasks claimed at a time. @default all of them */
  readonly chunk?: number;
  /**
   * The run's shared cells (run-control.ts): the claim cursor, and this call's stop flag (shared
   * memory, so a CPU-bound loop that checks `ctx.signal.aborted` sees it without yielding) and
   * progress, so the pool times each task on its own. Absent: this call runs every task.
   */
  readonly control?: SharedArrayBuffer;
  /** This call's slot in `control`. @default 0 */
  readonly slot?: number;
  /** Largest JSON result of one task, bytes: checked here, so an oversized value never leaves the thread. */
  readonly maxResultBytes?: number;
  /**
   * The run holds every task of its job (tasks 0 … n-1) and this is its only call: once every
   * task succeeded, the call reduces their results too (see TaskBatch.whole).
   */
  readonly reduce?: ReduceSpec;
  /** The node's blob store (`--blob-store`): `ctx.blobs`, and where results over its threshold go (docs/blobs.md). */
  readonly blobs?: BlobRuntime;
  /**
   * This call's number for the node's cache (node-cache.ts): at its first `ctx.cache` the call
   * opens a port to it and sends it to the main thread with this number (cache-client.ts
   * openCachePort). Absent: `ctx.cache` always loads.
   */
  readonly cacheCall?: number;
  /** BENCH ONLY (config.ts benchSlowdown): after each task this thread sleeps (k − 1)× the task's time. */
  readonly slowdown?: number;
  /** The job is traced: the call reports when this thread ran its tasks (BatchOutcome.calls), for the node's `thread` spans. */
  readonly traced?: boolean;
}

/**
 * One thread call as the thread itself timed it: the node records it as a `thread` span under the
 * batch's `run` (docs/architecture.md §5; the threads load no tracing SDK, they only measure).
 */
export interface ThreadCall {
  /** The piscina thread's `threadId`. */
  readonly thread: number;
  /** Epoch ms, from the thread's clock (performance.timeOrigin + now). */
  readonly startMs: number;
  readonly endMs: number;
  /** Tasks this call ran. */
  readonly tasks: number;
}

export type TaskOutcome =
  /** `json`: the result serialised here, once, as it is stored. */
  | { readonly index: number; readonly ok: true; readonly json: string }
  | { readonly index: number; readonly ok: false; readonly error: SerializedError; readonly retryable: boolean };

export type FailedOutcome = Extract<TaskOutcome, { ok: false }>;

/** What a thread call returns: the results of the tasks it ran, the failed ones, the time spent running them. */
export interface CallOutcome {
  /**
   * The results of the tasks that succeeded, packed as they are stored: no object per task
   * crosses the thread boundary, and the write sends two arguments, not two per task.
   */
  readonly results: PackedResults;
  /** Tasks that failed, in the order they ran. */
  readonly failures: FailedOutcome[];
  /** Microseconds spent in `run`, all tasks together (not the wait for a thread). */
  readonly micros: number;
  /** The job's reduced result, when the batch asked for it and every task succeeded. */
  readonly reduced?: ReduceOutcome;
  /** The calls' asks of the node cache (`ctx.cache`), when any. */
  readonly cache?: CacheCounts;
  /** When each thread call ran, for a traced job (ThreadBatch.traced). */
  readonly calls?: ThreadCall[];
  /** Lines the tasks wrote with `ctx.log`, when any (the node appends them to the job's log). */
  readonly logs?: TaskLogLine[];
}

/** One `ctx.log` line as a thread call reports it (a reduce run in the call writes `reduce` lines). */
export type TaskLogLine = LogLine;
export { MAX_LOG_LINES_PER_CALL, MAX_LOG_LINE_CHARS } from '../log-lines.js';

/**
 * `ctx.log` for one call: one function per call, not a closure per task. Called as a method it
 * takes the task from its context (`this.taskIndex`, right even for a line written after the task
 * returned); detached, from the task running now.
 */
function callLog(lines: LogLines, running: () => number): (this: TaskContext | undefined, ...args: unknown[]) => void {
  return function log(this: TaskContext | undefined, ...args: unknown[]) {
    lines.write(typeof this?.taskIndex === 'number' ? this.taskIndex : running(), 'task', args);
  };
}

/**
 * What the pool returns for a batch, all its calls together: packed as a call's, `failures` in
 * task order. `outcomes` expands it task by task when read (tests, a few rare paths); the node
 * stores `results` as they are.
 */
export interface BatchOutcome extends CallOutcome {
  /** Every task's outcome in task order, built when first read. */
  readonly outcomes: TaskOutcome[];
}

export async function runTasks(batch: ThreadBatch): Promise<CallOutcome> {
  const open = batch.cacheCall === undefined ? undefined : openCachePort(batch.cacheCall);
  const client = open === undefined ? undefined : cacheClient(open);
  try {
    const outcome = await runClaimed(batch, client?.cache ?? uncached);
    const counts = client?.counts;
    return counts === undefined || counts.hits + counts.misses === 0 ? outcome : { ...outcome, cache: { ...counts } };
  } finally {
    client?.close();
  }
}

/** Runs the tasks this call claims (all of them without shared cells), then the reduce if asked. */
async function runClaimed(batch: ThreadBatch, cache: CacheFn): Promise<CallOutcome> {
  const cells = batch.control === undefined ? undefined : new Int32Array(batch.control);
  const mine = callCells(batch.slot ?? 0);
  if (cells !== undefined) Atomics.store(cells, mine.started, 0); // picked up by a thread
  const job = await loadJobModule(batch.modulePath);
  const signal = sharedAbortSignal(cells, mine.stop);
  const tasks = batch.tasks ?? (JSON.parse(batch.tasksJson ?? '[]') as ReadonlyArray<readonly [number, unknown]>);
  const indices = new IndexRuns();
  const jsons: string[] = [];
  const failures: FailedOutcome[] = [];
  const count = tasks.length;
  const chunk = Math.max(1, batch.chunk ?? count);
  const started = performance.now();
  const logs = new LogLines('thread call');
  let running = -1;
  const log = callLog(logs, () => running);
  let own = 0; // without shared cells this call claims every task itself
  claiming: while (!signal.aborted) {
    const first = cells === undefined ? own : Atomics.add(cells, CLAIM_CURSOR, chunk);
    own = first + chunk;
    if (first >= count) break;
    for (let position = first; position < Math.min(count, first + chunk); position++) {
      if (signal.aborted) break claiming;
      const [index, payload] = tasks[position] as readonly [number, unknown];
      if (cells !== undefined) {
        Atomics.store(cells, mine.current, position);
        Atomics.add(cells, mine.started, 1);
      }
      const taskStarted = batch.slowdown === undefined ? 0 : performance.now(); // only the bench slowdown needs it
      running = index;
      const pending = runTask(job, batch, index, payload, signal, cache, log);
      const outcome = pending instanceof Promise ? await pending : pending;
      if (typeof outcome === 'string') {
        indices.push(index);
        jsons.push(outcome);
      } else failures.push(outcome);
      if (batch.slowdown !== undefined) benchSleep((batch.slowdown - 1) * (performance.now() - taskStarted));
    }
  }
  const micros = Math.round((performance.now() - started) * 1000);
  const ran = indices.count + failures.length;
  const timed = batch.traced === true ? { calls: [{ thread: threadId, startMs: performance.timeOrigin + started, endMs: performance.timeOrigin + performance.now(), tasks: ran }] } : {};
  const outcome = { results: { indices: indices.toString(), count: indices.count, json: jsons.join(',') }, failures, micros, ...timed };
  const results = batch.reduce === undefined || signal.aborted ? undefined : wholeResults(outcome.results.indices, jsons, failures.length, batch.reduce.total);
  if (batch.reduce === undefined || results === undefined) return withLines(outcome, logs);
  if (cells !== undefined) Atomics.store(cells, mine.started, REDUCING);
  const reduced = await reduceResults(job, results, { ...batch.reduce, jobId: batch.jobId }, undefined, batch.blobs, logs);
  return withLines({ ...outcome, reduced }, logs);
}

/**
 * Results 0 … total-1 as the scheduler's reduce would read them back from Redis (each parsed from
 * its stored JSON, so the reduce sees the same values either way); undefined unless every task
 * of the job ran and succeeded in this call.
 */
function wholeResults(indices: string, jsons: readonly string[], failed: number, total: number): unknown[] | undefined {
  // One call runs its tasks in order: tasks 0 … total-1 are one run.
  if (failed > 0 || jsons.length !== total || indices !== (total === 1 ? '0' : `0-${total - 1}`)) return undefined;
  const results = new Array<unknown>(total);
  for (let i = 0; i < total; i++) results[i] = JSON.parse(jsons[i] as string);
  return results;
}

/** BENCH ONLY: holds this thread for `ms` without using a core, as a slower machine would take longer. */
function benchSleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Progress reports are not carried out of the thread yet: one shared no-op, not a closure per task. */
const ignoreProgress = (): void => {};

/**
 * One task's outcome: its result's JSON, or why it failed. A task whose `run` returns a plain
 * value is settled on the spot: no promise or microtask per task, which is most of the cost of a
 * trivial task.
 */
/** The call's outcome with its log lines, when it wrote any. */
function withLines<T extends object>(outcome: T, logs: LogLines): T & { logs?: LogLine[] } {
  const lines = logs.take();
  return lines.length === 0 ? outcome : { ...outcome, logs: lines };
}

function runTask(job: AnyJob, batch: ThreadBatch, index: number, payload: unknown, signal: AbortSignal, cache: CacheFn, log: TaskContext['log']): string | FailedOutcome | Promise<string | FailedOutcome> {
  const ctx: TaskContext = { signal, jobId: batch.jobId, taskIndex: index, attempt: batch.attempt, progress: ignoreProgress, log, blobs: blobReader(batch.blobs), cache };
  let value: unknown;
  try {
    value = job.run(payload, ctx);
  } catch (err) {
    return failed(index, err);
  }
  if (value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function') {
    return Promise.resolve(value).then(
      (resolved) => succeeded(index, resolved, batch),
      (err: unknown) => failed(index, err),
    );
  }
  return succeeded(index, value, batch);
}

/** With a blob store, a result over its threshold is written there and the outcome carries the reference (no inline limit then). */
function succeeded(index: number, value: unknown, batch: ThreadBatch): string | FailedOutcome | Promise<string | FailedOutcome> {
  const json = serialiseResult(index, value, batch.blobs === undefined ? batch.maxResultBytes : undefined);
  // Not JSON, or too large: the same input gives the same again, so it is not retried.
  if (typeof json !== 'string') return { index, ok: false, error: json, retryable: false };
  if (goesToBlobs(json, batch.blobs)) {
    return storeResultJson(json, batch.jobId, batch.blobs).then((ref) => ref, (err: unknown) => failed(index, err));
  }
  return json;
}

function failed(index: number, err: unknown): FailedOutcome {
  const retryable = !(err !== null && typeof err === 'object' && (err as { retryable?: unknown }).retryable === false);
  return { index, ok: false, error: serializeError(err, 'TASK_FAILED'), retryable };
}

/** An AbortSignal whose `aborted` also reads the shared flag, so synchronous loops can stop. */
function sharedAbortSignal(cells: Int32Array | undefined, stopCell: number): AbortSignal {
  const controller = new AbortController();
  if (cells === undefined) return controller.signal;
  const signal = controller.signal;
  let fired = false;
  Object.defineProperty(signal, 'aborted', {
    get() {
      const stop = Atomics.load(cells, stopCell) !== 0;
      if (stop && !fired) {
        fired = true; // also fire 'abort' listeners, for async tasks
        controller.abort(new Error('task stopped: cancelled or past its time limit'));
      }
      return stop;
    },
  });
  return signal;
}

/** The result as stored (JSON), or why it cannot be stored. */
function serialiseResult(index: number, value: unknown, limit: number | undefined): string | SerializedError {
  let json: string | undefined;
  try {
    json = JSON.stringify(value ?? null) ?? 'null';
  } catch (err) {
    return { code: 'TASK_FAILED', message: `task ${index} returned a value that is not JSON: ${(err as Error).message}` };
  }
  if (limit === undefined || json.length <= limit / 3) return json; // no UTF-8 char is over 3 bytes per UTF-16 unit
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= limit) return json;
  return {
    code: 'RESULT_TOO_LARGE',
    message: `task ${index} returned ${bytes} bytes of JSON, more than the limit of ${limit} (maxTaskResultBytes): return less per task`,
    details: { bytes, limit },
  };
}

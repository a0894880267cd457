// Runs a batch of one job's tasks inside a worker thread and reports each task's outcome.
import { pathToFileURL } from 'node:url';
import { serializeError, type SerializedError } from '../errors.js';
import type { AnyJob, TaskContext } from '../sdk/index.js';

export interface ThreadBatch {
  /** Absolute path of the job module (from the registry, never from user input). */
  readonly modulePath: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly tasks: ReadonlyArray<readonly [index: number, payload: unknown]>;
  /**
   * Two Int32 cells shared with the pool's side. [0]: set to 1 to ask the tasks to stop; shared
   * memory, so a CPU-bound loop that checks `ctx.signal.aborted` sees it without yielding.
   * [1]: -1 while the batch waits for a thread, then how many of its tasks have started, so
   * the pool times each task on its own.
   */
  readonly control?: SharedArrayBuffer;
}

export type TaskOutcome =
  | { readonly index: number; readonly ok: true; readonly value: unknown }
  | { readonly index: number; readonly ok: false; readonly error: SerializedError; readonly retryable: boolean };

const modules = new Map<string, Promise<AnyJob>>();

function loadJob(path: string): Promise<AnyJob> {
  let job = modules.get(path);
  if (job === undefined) {
    job = import(pathToFileURL(path).href).then((m: { default: AnyJob }) => m.default);
    modules.set(path, job);
  }
  return job;
}

/** What a thread returns for a batch: each task's outcome and the time spent running them. */
export interface BatchOutcome {
  readonly outcomes: TaskOutcome[];
  /** Microseconds spent in `run`, all tasks together (not the wait for a thread). */
  readonly micros: number;
}

export async function runTasks(batch: ThreadBatch): Promise<BatchOutcome> {
  const cells = batch.control === undefined ? undefined : new Int32Array(batch.control);
  if (cells !== undefined) Atomics.store(cells, 1, 0); // picked up by a thread
  const job = await loadJob(batch.modulePath);
  const signal = sharedAbortSignal(cells);
  const outcomes: TaskOutcome[] = [];
  const started = performance.now();
  for (const [index, payload] of batch.tasks) {
    if (signal.aborted) break;
    if (cells !== undefined) Atomics.add(cells, 1, 1);
    const ctx: TaskContext = { signal, jobId: batch.jobId, taskIndex: index, attempt: batch.attempt, progress: () => {} };
    try {
      const value = await job.run(payload, ctx);
      outcomes.push({ index, ok: true, value: value === undefined ? null : value });
    } catch (err) {
      const retryable = !(err !== null && typeof err === 'object' && (err as { retryable?: unknown }).retryable === false);
      outcomes.push({ index, ok: false, error: serializeError(err, 'TASK_FAILED'), retryable });
    }
  }
  return { outcomes, micros: Math.round((performance.now() - started) * 1000) };
}

/** An AbortSignal whose `aborted` also reads the shared flag, so synchronous loops can stop. */
function sharedAbortSignal(cells: Int32Array | undefined): AbortSignal {
  const controller = new AbortController();
  if (cells === undefined) return controller.signal;
  const signal = controller.signal;
  let fired = false;
  Object.defineProperty(signal, 'aborted', {
    get() {
      const stop = Atomics.load(cells, 0) !== 0;
      if (stop && !fired) {
        fired = true; // also fire 'abort' listeners, for async tasks
        controller.abort(new Error('task stopped: cancelled or past its time limit'));
      }
      return stop;
    },
  });
  return signal;
}

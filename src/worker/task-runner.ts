// Runs a batch of one job's tasks inside a worker thread and reports each task's outcome.
import { serializeError, type SerializedError } from '../errors.js';
import { loadJobModule } from '../registry/thread-modules.js';
import type { TaskContext } from '../sdk/index.js';

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
  /** Largest JSON result of one task, bytes: checked here, so an oversized value never leaves the thread. */
  readonly maxResultBytes?: number;
}

export type TaskOutcome =
  /** `json`: the result serialised here, once, as it is stored. */
  | { readonly index: number; readonly ok: true; readonly json: string }
  | { readonly index: number; readonly ok: false; readonly error: SerializedError; readonly retryable: boolean };

/** What a thread returns for a batch: each task's outcome and the time spent running them. */
export interface BatchOutcome {
  readonly outcomes: TaskOutcome[];
  /** Microseconds spent in `run`, all tasks together (not the wait for a thread). */
  readonly micros: number;
}

export async function runTasks(batch: ThreadBatch): Promise<BatchOutcome> {
  const cells = batch.control === undefined ? undefined : new Int32Array(batch.control);
  if (cells !== undefined) Atomics.store(cells, 1, 0); // picked up by a thread
  const job = await loadJobModule(batch.modulePath);
  const signal = sharedAbortSignal(cells);
  const outcomes: TaskOutcome[] = [];
  const started = performance.now();
  for (const [index, payload] of batch.tasks) {
    if (signal.aborted) break;
    if (cells !== undefined) Atomics.add(cells, 1, 1);
    const ctx: TaskContext = { signal, jobId: batch.jobId, taskIndex: index, attempt: batch.attempt, progress: () => {} };
    try {
      const value = await job.run(payload, ctx);
      const json = serialiseResult(index, value, batch.maxResultBytes);
      // Not JSON, or too large: the same input gives the same again, so it is not retried.
      if (typeof json !== 'string') outcomes.push({ index, ok: false, error: json, retryable: false });
      else outcomes.push({ index, ok: true, json });
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

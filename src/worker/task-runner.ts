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
   * One Int32 cell: set to 1 by the pool's side to ask the tasks to stop. Shared memory, so a
   * CPU-bound loop that checks `ctx.signal.aborted` sees it without yielding to the event loop.
   */
  readonly abortFlag?: SharedArrayBuffer;
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

export async function runTasks(batch: ThreadBatch): Promise<TaskOutcome[]> {
  const job = await loadJob(batch.modulePath);
  const signal = sharedAbortSignal(batch.abortFlag);
  const outcomes: TaskOutcome[] = [];
  for (const [index, payload] of batch.tasks) {
    if (signal.aborted) break;
    const ctx: TaskContext = { signal, jobId: batch.jobId, taskIndex: index, attempt: batch.attempt, progress: () => {} };
    try {
      const value = await job.run(payload, ctx);
      outcomes.push({ index, ok: true, value: value === undefined ? null : value });
    } catch (err) {
      const retryable = !(err !== null && typeof err === 'object' && (err as { retryable?: unknown }).retryable === false);
      outcomes.push({ index, ok: false, error: serializeError(err, 'TASK_FAILED'), retryable });
    }
  }
  return outcomes;
}

/** An AbortSignal whose `aborted` also reads the shared flag, so synchronous loops can stop. */
function sharedAbortSignal(flag: SharedArrayBuffer | undefined): AbortSignal {
  const controller = new AbortController();
  if (flag === undefined) return controller.signal;
  const cell = new Int32Array(flag);
  const signal = controller.signal;
  Object.defineProperty(signal, 'aborted', {
    get() {
      if (!controller.signal.reason && Atomics.load(cell, 0) !== 0) controller.abort(new Error('task aborted: cancelled or timed out'));
      return Atomics.load(cell, 0) !== 0;
    },
  });
  return signal;
}

// What a worker node does with a batch, decided without I/O: run it or not, which of its tasks, what to store, whether BullMQ retries it.
import type { ReduceOutcome } from '../registry/reduce-results.js';
import type { PlacementView } from '../store/job-store.js';
import { isStaleBatch, type BatchStamp, type TaskBatch, type WholeJob } from '../transport/task-batch.js';
import type { TaskOutcome } from './task-runner.js';

/**
 * What a job's view says of a batch: `ended` (nothing more is stored for the job: skip it),
 * `stale` (a later leader re-placed its tasks: refuse it), or `run`.
 */
export type BatchVerdict = 'run' | 'ended' | 'stale';

export function verdictOf(view: PlacementView, stamp: BatchStamp): BatchVerdict {
  if (view.ended) return 'ended';
  return isStaleBatch(stamp, view.adoptions) ? 'stale' : 'run';
}

/** The tasks a retried attempt runs: those whose results an earlier attempt did not store (`stored`). */
export function unstoredTasks<T extends readonly [number, unknown]>(tasks: readonly T[], stored: ReadonlySet<number>): T[] {
  return tasks.filter(([i]) => !stored.has(i));
}

/**
 * The job to reduce in the same thread call: the batch's `whole`, only when the attempt runs
 * every task of it (`count` of them: none of it stored before, so every result is in this call).
 */
export function wholeJobOf(batch: TaskBatch, count: number): WholeJob | undefined {
  return count === batch.taskCount ? batch.whole : undefined;
}

export type FailedTask = Extract<TaskOutcome, { ok: false }>;

/**
 * The job's end written with its results, for a batch that was its whole job and whose reduce
 * succeeded in the same call; none otherwise (a reduce that failed is left to the scheduler's,
 * which fails the job with its error).
 */
export function jobEnding(whole: WholeJob | undefined, reduced: ReduceOutcome | undefined): { readonly result: string | Buffer; readonly ttlSec: number } | undefined {
  if (whole === undefined || reduced === undefined || 'error' in reduced) return undefined;
  const result = 'json' in reduced ? reduced.json : Buffer.from(reduced.bytes.buffer, reduced.bytes.byteOffset, reduced.bytes.byteLength);
  return { result, ttlSec: whole.resultTtlSec };
}

/**
 * Whether the entry is handed back to BullMQ to retry (with backoff; its stored results are
 * skipped then): the failure is retryable and the entry has attempts left (`attempts`, the entry's
 * option: absent is one). Otherwise the task fails for good, and with it the job.
 */
export function retriesEntry(failure: FailedTask, attemptsMade: number, attempts: number | undefined): boolean {
  return failure.retryable && attemptsMade + 1 < (attempts ?? 1);
}

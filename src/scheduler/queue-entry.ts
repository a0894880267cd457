// The queue entries the scheduler enqueues for a job's tasks: their data and options, and how an entry changes when its tasks do.
import type { JobsOptions } from 'bullmq';
import type { JobRecord } from '../store/job-record.js';
import { batchId, batchTasks, rebatch, taskFields, type TaskBatch } from '../transport/task-batch.js';

/** A task as the split yields it: its index in the job and its payload. */
export type Task = readonly [number, unknown];

/** One BullMQ entry as `add`/`addBulk` take it. */
export interface QueueEntry {
  readonly name: string;
  readonly data: TaskBatch;
  readonly opts: JobsOptions;
}

/**
 * The entry for some of a job's tasks, placed in `term`; a thread claims `perCall` of them at a
 * time (all of them: one call). Its id is deterministic (batchId), so enqueueing it again is a no-op.
 * `traceparent`: the split's span, which the worker's span of the entry continues (traced jobs only).
 */
export function taskEntry(job: JobRecord, term: number, tasks: Task[], perCall: number, traceparent?: string): QueueEntry {
  const data: TaskBatch = {
    jobId: job.id,
    job: job.name,
    term,
    ...taskFields(tasks),
    ...(perCall < tasks.length ? { perCall } : {}),
    taskTimeoutMs: job.options.taskTimeoutMs,
    taskMemoryMb: job.options.taskMemoryMb,
    ...(job.reruns > 0 ? { rerun: job.reruns } : {}),
    ...(job.version === null ? {} : { version: job.version }),
    ...(traceparent === undefined ? {} : { traceparent }),
  };
  return {
    name: job.name,
    data,
    opts: {
      jobId: batchId(data),
      attempts: job.options.retries + 1,
      backoff: { type: 'exponential', delay: 200, jitter: 0.5 },
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}

/**
 * The entry without the tasks that already have a stored result (`stored`: their indices): the
 * same entry when none has, none when all have; otherwise one with fewer tasks, its id following
 * its new first task.
 */
export function unstoredEntry(entry: QueueEntry, stored: ReadonlySet<number>): QueueEntry | undefined {
  if (stored.size === 0) return entry;
  const tasks = batchTasks(entry.data).filter(([i]) => !stored.has(i));
  if (tasks.length === entry.data.taskCount) return entry;
  if (tasks.length === 0) return undefined;
  const data = rebatch(entry.data, entry.data.term, tasks);
  return { ...entry, data, opts: { ...entry.opts, jobId: batchId(data) } };
}

/**
 * The entry that carries a departed node's tasks (`data`, rebatched for the term that moves them)
 * to their new owner: the original entry's options whole, so that an option the scheduler sets is
 * never lost in a move, but for what belongs to the entry BullMQ added rather than to the tasks:
 * its id (which follows the new data), its creation time, a repeat's bookkeeping and the trace
 * context BullMQ wrote for it.
 */
export function movedEntry(name: string, opts: JobsOptions, data: TaskBatch): QueueEntry {
  const { jobId: _id, timestamp: _created, prevMillis: _repeat, repeatJobKey: _repeatKey, telemetry, ...carried } = opts;
  const { metadata: _trace, ...ownTelemetry } = telemetry ?? {};
  return {
    name,
    data,
    opts: { ...carried, ...(Object.keys(ownTelemetry).length > 0 ? { telemetry: ownTelemetry } : {}), jobId: batchId(data) },
  };
}

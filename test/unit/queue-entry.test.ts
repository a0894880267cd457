// The scheduler's queue entries: built from a job's options, trimmed of stored tasks, moved with their options whole.
import type { JobsOptions } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { movedEntry, taskEntry, unstoredEntry, type Task } from '../../src/scheduler/queue-entry.js';
import { batchId, batchTasks, rebatch } from '../../src/transport/task-batch.js';
import { jobRecord } from '../helpers/job-record.js';

const tasks = (...indices: number[]): Task[] => indices.map((i) => [i, { n: i }] as const);

describe('taskEntry', () => {
  it('carries the job’s task limits, its retries as attempts, and an id from its job, first task and term', () => {
    const entry = taskEntry(jobRecord(), 3, tasks(4, 5, 6), 1);
    expect(entry.name).toBe('primes');
    expect(entry.data).toEqual({ jobId: 'job1', job: 'primes', term: 3, tasksJson: JSON.stringify(tasks(4, 5, 6)), taskCount: 3, firstTask: 4, lastTask: 6, perCall: 1, taskTimeoutMs: 1_500, taskMemoryMb: 96 });
    expect(entry.opts).toEqual({
      jobId: 'job1-4-t3',
      attempts: 5,
      backoff: { type: 'exponential', delay: 200, jitter: 0.5 },
      removeOnComplete: true,
      removeOnFail: true,
    });
  });

  it('an entry run as one call has no perCall; a retried job’s entries name its run', () => {
    const entry = taskEntry(jobRecord({ reruns: 2 }), 3, tasks(0, 1), 2);
    expect(entry.data.perCall).toBeUndefined();
    expect(entry.data.rerun).toBe(2);
    expect(entry.opts.jobId).toBe('job1-0-t3-r2');
    expect(taskEntry(jobRecord(), 3, tasks(0, 1), 5).data.perCall).toBeUndefined();
  });
});

describe('unstoredEntry', () => {
  const entry = taskEntry(jobRecord(), 2, tasks(10, 11, 12), 1);

  it('is the same entry when none of its tasks has a stored result, and none when all have', () => {
    expect(unstoredEntry(entry, new Set([3, 9, 13]))).toBe(entry);
    expect(unstoredEntry(entry, new Set([10, 11, 12]))).toBeUndefined();
  });

  it('keeps the tasks without a result, under an id that follows its new first task, with its other options', () => {
    const left = unstoredEntry(entry, new Set([10, 12]));
    expect(batchTasks(left!.data)).toEqual(tasks(11));
    expect(left?.opts).toEqual({ ...entry.opts, jobId: 'job1-11-t2' });
    expect(left?.data.term).toBe(2);
  });
});

describe('movedEntry', () => {
  const original = taskEntry(jobRecord(), 1, tasks(0, 1, 2, 3), 1);

  it('keeps every option of the original, one the scheduler does not set today included; the id follows the moved tasks', () => {
    const opts: JobsOptions = { ...original.opts, priority: 7, lifo: true, keepLogs: 5, delay: 50, sizeLimit: 1 << 20 };
    const data = rebatch(original.data, 4, tasks(2, 3));
    const moved = movedEntry(original.name, opts, data);
    expect(moved).toEqual({ name: 'primes', data, opts: { ...opts, jobId: 'job1-2-t4' } });
    expect(moved.opts.jobId).toBe(batchId(data));
  });

  it('drops what BullMQ wrote for the entry it added: its creation time, a repeat’s bookkeeping, its trace context', () => {
    const opts: JobsOptions = { ...original.opts, timestamp: 1_000, prevMillis: 2_000, repeatJobKey: 'k', telemetry: { metadata: 'trace', omitContext: true } };
    const moved = movedEntry(original.name, opts, original.data);
    expect(moved.opts).toEqual({ ...original.opts, telemetry: { omitContext: true } });
    expect(movedEntry(original.name, { ...original.opts, telemetry: { metadata: 'trace' } }, original.data).opts).toEqual(original.opts);
  });
});

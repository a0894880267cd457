// A worker's decisions about a batch: skip, refuse or run it; which tasks a retry runs; what is stored; whether BullMQ retries it.
import { describe, expect, it } from 'vitest';
import { jobEnding, retriesEntry, unstoredTasks, verdictOf, wholeJobOf, type FailedTask } from '../../src/worker/batch-decisions.js';
import { taskFields, type TaskBatch, type WholeJob } from '../../src/transport/task-batch.js';

const view = (over: { ended?: boolean; adoptions?: Array<{ term: number; placed: number }> } = {}) => ({ ended: false, adoptions: [{ term: 1, placed: 0 }], rerun: 0, ...over });

describe('verdictOf', () => {
  it('a job that ended: skip the batch, whatever its term', () => {
    expect(verdictOf(view({ ended: true }), { term: 1, lastIndex: 5 })).toBe('ended');
    expect(verdictOf(view({ ended: true, adoptions: [{ term: 1, placed: 0 }, { term: 3, placed: 0 }] }), { term: 1, lastIndex: 5 })).toBe('ended');
  });

  it('a batch of a deposed leader reaching past the adopter’s point is refused; one below it, or of the adopter, runs', () => {
    const adopted = view({ adoptions: [{ term: 1, placed: 0 }, { term: 3, placed: 100 }] });
    expect(verdictOf(adopted, { term: 1, lastIndex: 100 })).toBe('stale');
    expect(verdictOf(adopted, { term: 2, lastIndex: 150 })).toBe('stale');
    expect(verdictOf(adopted, { term: 1, lastIndex: 99 })).toBe('run');
    expect(verdictOf(adopted, { term: 3, lastIndex: 150 })).toBe('run');
    expect(verdictOf(view(), { term: 1, lastIndex: 1_000 })).toBe('run');
  });
});

const tasks = (...indices: number[]) => indices.map((i) => [i, { n: i }] as const);
const WHOLE: WholeJob = { total: 3, input: {}, resultType: 'json', maxResultBytes: 1_000, resultTtlSec: 60 };
const batch = (over: Partial<TaskBatch> = {}): TaskBatch => ({ jobId: 'j', job: 'primes', term: 1, ...taskFields(tasks(0, 1, 2)), taskTimeoutMs: 1_000, taskMemoryMb: 64, ...over });

describe('which tasks an attempt runs', () => {
  it('a retry runs only the tasks whose results were not stored, in order', () => {
    expect(unstoredTasks(tasks(4, 5, 6, 7), new Set([5, 7]))).toEqual(tasks(4, 6));
    expect(unstoredTasks(tasks(4, 5), new Set([4, 5]))).toEqual([]);
    expect(unstoredTasks(tasks(4, 5), new Set())).toEqual(tasks(4, 5));
  });

  it('the job is reduced in the call only when the attempt runs every task of a whole-job batch', () => {
    const whole = batch({ whole: WHOLE });
    expect(wholeJobOf(whole, 3)).toBe(WHOLE);
    expect(wholeJobOf(whole, 2)).toBeUndefined(); // task 1 was stored by an earlier attempt
    expect(wholeJobOf(batch(), 3)).toBeUndefined();
  });
});

describe('jobEnding', () => {
  it('a whole job whose reduce succeeded ends with its result (JSON or bytes) and its TTL', () => {
    expect(jobEnding(WHOLE, { json: '42' })).toEqual({ result: '42', ttlSec: 60 });
    const bytes = new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 4);
    const ending = jobEnding(WHOLE, { bytes });
    expect(Buffer.isBuffer(ending?.result)).toBe(true);
    expect([...(ending?.result as Buffer)]).toEqual([1, 2, 3]); // the view's bytes, not its whole buffer
  });

  it('no ending without a whole job, without a reduce, or when the reduce failed (the scheduler fails the job)', () => {
    expect(jobEnding(undefined, { json: '42' })).toBeUndefined();
    expect(jobEnding(WHOLE, undefined)).toBeUndefined();
    expect(jobEnding(WHOLE, { error: { code: 'TASK_FAILED', message: 'reduce threw' } })).toBeUndefined();
  });
});

const failed = (index: number, retryable = true): FailedTask => ({ index, ok: false, retryable, error: { code: 'TASK_FAILED', message: `task ${index} threw` } });

describe('retriesEntry', () => {
  it('a retryable failure is retried by BullMQ while the entry has attempts left', () => {
    expect(retriesEntry(failed(0), 0, 3)).toBe(true);
    expect(retriesEntry(failed(0), 1, 3)).toBe(true);
    expect(retriesEntry(failed(0), 2, 3)).toBe(false); // the last attempt
  });

  it('a failure that is not retryable, or an entry of one attempt, fails for good at once', () => {
    expect(retriesEntry(failed(0, false), 0, 3)).toBe(false);
    expect(retriesEntry(failed(0), 0, 1)).toBe(false);
    expect(retriesEntry(failed(0), 0, undefined)).toBe(false);
  });
});

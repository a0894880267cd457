// A queue entry rebuilt with other tasks (moved off a departed node, or with some results stored) claims its whole job only if it still holds every task.
import { describe, expect, it } from 'vitest';
import { batchId, batchTasks, rebatch, taskFields, type TaskBatch } from '../../src/transport/task-batch.js';

const whole = { total: 3, input: { n: 3 }, resultType: 'json' as const, maxResultBytes: 1024, resultTtlSec: 60 };
const tasks = [[0, 'a'], [1, 'b'], [2, 'c']] as const;
const batch: TaskBatch = { jobId: 'j1', job: 'primes', term: 2, ...taskFields(tasks), taskTimeoutMs: 1000, taskMemoryMb: 64, whole };

describe('rebatch', () => {
  it('keeps the whole-job mark when every task moves together, under the new term', () => {
    const moved = rebatch(batch, 5, batchTasks(batch));
    expect(moved).toMatchObject({ term: 5, whole });
    expect(batchId(moved)).toBe('j1-0-t5');
  });

  it('drops it for part of the tasks: a worker must not reduce and end the job from some of its results', () => {
    for (const part of [tasks.slice(0, 2), tasks.slice(1)]) {
      const rebatched = rebatch(batch, 5, part);
      expect(rebatched.whole).toBeUndefined();
      expect(rebatched).toMatchObject({ term: 5, ...taskFields(part), jobId: 'j1', taskTimeoutMs: 1000 });
      expect(batchTasks(rebatched)).toEqual(part);
    }
  });
});

describe('batchId', () => {
  it("is the same for the same batch, and differs for a retry's run in the same term", () => {
    expect(batchId(batch)).toBe('j1-0-t2');
    const retried = { ...batch, rerun: 1 };
    expect(batchId(retried)).toBe('j1-0-t2-r1');
    // Moved in a later term, it keeps its run: it never collides with the failed run's entry.
    expect(batchId(rebatch(retried, 3, tasks.slice(1)))).toBe('j1-1-t3-r1');
  });
});

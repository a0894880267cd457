// A job whose tasks all fit one queue entry is reduced by the worker that ran them, in the same thread call (TaskBatch.whole).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({}, 'whole');
});
afterAll(async () => {
  await node?.close();
});

async function run(input: unknown, options: unknown = {}) {
  const created = await node.api('/v1/jobs', { body: { job: 'which-thread', input, options } });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  return await node.waitForJob(created.body.id, 60_000);
}

const tasks = [{ ms: 1 }, { ms: 1 }, { ms: 1 }];

/**
 * The type's measured task time as that of these 1 ms tasks. The scheduler sizes entries and
 * thread calls from it; a loaded machine can measure a 1 ms task at many ms (its thread kept off
 * the CPU mid-task), and three such tasks no longer make one call: the job is then reduced by the
 * scheduler, which says nothing about the path this file checks.
 */
async function measuredAsOneMs(): Promise<void> {
  await node.redis.hset(node.store.keys.taskTimes, 'which-thread', '1000');
}

describe('a job of one queue entry', () => {
  it('is reduced and ended by its worker: the result, progress and timings are those of any completed job', async () => {
    // A type's first job is one task per entry until its task time is measured, except a job of one task.
    const first = await run({ tasks: [{ ms: 1 }] });
    expect(first.status).toBe('completed');
    expect(first.timing.reducedOn).toBe(Object.keys(first.tasksPerNode)[0]);
    await measuredAsOneMs();
    const job = await run({ tasks });
    expect(job.status).toBe('completed');
    const [worker] = Object.keys(job.tasksPerNode);
    expect(job.timing.reducedOn).toBe(worker);
    expect(job.progress).toMatchObject({ total: 3, placed: 3, done: 3, failed: 0, duplicates: 0 });
    expect(job.finishedAt).toBeGreaterThanOrEqual(job.startedAt);
    const { body } = await node.api(`/v1/jobs/${job.id}/result`);
    expect(body.result).toHaveLength(3);
    expect(new Set(body.result).size).toBe(1); // one thread call ran the tasks and the reduce
  });

  it('whose reduce throws fails as any job does: the scheduler\'s reduce reports the module\'s error', async () => {
    await measuredAsOneMs();
    const job = await run({ tasks, reduce: 'throw' });
    expect(job.status).toBe('failed');
    expect(job.error.message).toMatch(/reduce failed: reduce broke on purpose/);
    expect(job.progress.done).toBe(3); // the task results were stored as usual
  });

  it('is told apart from a job of several entries, which the scheduler reduces', async () => {
    const job = await run({ tasks }, { batchSize: 1 });
    expect(job.status).toBe('completed');
    expect(job.timing.reducedOn).toBe('scheduler');
  });
});

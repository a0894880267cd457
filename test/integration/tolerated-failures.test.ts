// Tolerated failures (docs/tenants.md): within maxFailedTasks/maxFailedRatio a job completes partial, reduce gets the successful results with their indexes; beyond, it fails as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { killAllSpawned, spawnRingpool } from '../helpers/processes.js';

describe('tolerated task failures', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode({}, 'tolerated');
  }, 120_000);

  afterAll(async () => {
    killAllSpawned();
    await node?.close();
  });

  const submit = async (input: unknown, options: unknown) => {
    const res = await node.api('/v1/jobs', { body: { job: 'paced', input, options } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.id as string;
  };

  it('within maxFailedTasks the job completes partial: failed indexes and errors in the job, reduce got the rest with their indexes', async () => {
    const id = await submit({ tasks: 10, ms: 1, failAt: [3, 7] }, { maxFailedTasks: 2, batchSize: 2 });
    const job = await node.waitForJob(id);
    expect(job).toMatchObject({ status: 'completed', partial: true, progress: { total: 10, done: 10, failed: 2 } });
    expect(job.taskErrors.map((e: { taskIndex: number }) => e.taskIndex)).toEqual([3, 7]);
    expect(job.taskErrors[0]).toMatchObject({ code: 'TASK_FAILED', message: expect.stringContaining('task 3 fails on purpose'), tolerated: true });
    const { body } = await node.api(`/v1/jobs/${id}/result`);
    expect(body.result).toEqual({
      count: 8,
      results: [0, 1, 2, 4, 5, 6, 8, 9],
      indexes: [0, 1, 2, 4, 5, 6, 8, 9],
      failed: [
        { index: 3, error: { code: 'TASK_FAILED', message: expect.stringContaining('task 3') } },
        { index: 7, error: { code: 'TASK_FAILED', message: expect.stringContaining('task 7') } },
      ],
    });
  }, 60_000);

  it('a job without failures is not partial, and reduce is told every index', async () => {
    const id = await submit({ tasks: 4, ms: 1 }, { maxFailedRatio: 0.5 });
    const job = await node.waitForJob(id);
    expect(job).toMatchObject({ status: 'completed', partial: false, taskErrors: [] });
    expect((await node.api(`/v1/jobs/${id}/result`)).body.result).toMatchObject({ count: 4, indexes: [0, 1, 2, 3], failed: [] });
  }, 60_000);

  it('beyond maxFailedTasks, or beyond maxFailedRatio once the task count is known, the job fails with a task error as before', async () => {
    const overCount = await submit({ tasks: 10, ms: 1, failAt: [1, 2, 5] }, { maxFailedTasks: 2, batchSize: 1 });
    const overRatio = await submit({ tasks: 10, ms: 1, failAt: [1, 2, 5] }, { maxFailedRatio: 0.2, batchSize: 1 });
    const none = await submit({ tasks: 4, ms: 1, failAt: [2] }, { batchSize: 1 });
    for (const id of [overCount, overRatio, none]) {
      const job = await node.waitForJob(id);
      expect(job.status, id).toBe('failed');
      expect(job.partial).toBe(false);
      expect(job.error).toMatchObject({ code: 'TASK_FAILED', message: expect.stringContaining('fails on purpose') });
    }
  }, 60_000);

  it('ringpool submit --wait says the job is partial and which tasks failed (ringpool status prints the job: partial and taskErrors as above)', async () => {
    const cli = spawnRingpool(['submit', 'paced', '--input', '{"tasks":5,"ms":1,"failAt":[4]}', '--option', 'maxFailedTasks=1', '--wait', '--url', node.url]);
    const { code } = await cli.exited;
    expect(code, cli.stderr()).toBe(0);
    expect(cli.stderr()).toMatch(/completed partially: 1 of 5 tasks failed[\s\S]*task 4: \[TASK_FAILED\] task 4 fails on purpose/);
    expect(JSON.parse(cli.stdout().slice(cli.stdout().indexOf('{')))).toMatchObject({ count: 4, indexes: [0, 1, 2, 3] });
  }, 60_000);
});

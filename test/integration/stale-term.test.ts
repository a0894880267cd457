// Fencing at the worker: a batch stamped with a deposed leader's term is refused, batches queued before the new term stay.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { newJobId } from '../../src/store/job-store.js';
import { batchId, taskFields, type TaskBatch } from '../../src/transport/task-batch.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { storeResults } from '../helpers/store-helpers.js';

/*
 * The test plays two scheduler leaders by hand against a real worker node (BullMQ + piscina):
 * leader 1 places tasks 0-9 and checkpoints them; leader 2 adopts the job (start-job) at that
 * checkpoint; leader 1, deposed but unaware, then enqueues tasks 10-19 with its term (BullMQ's
 * add is not fenced) and its checkpoint is refused by the fence. The worker must refuse that
 * batch (leader 2 places those tasks itself), yet still run a batch of term 1 holding tasks
 * below the adoption point: those were queued before the new term and stay where they are.
 */
describe('a worker and a batch of a stale term', () => {
  let node: TestNode;
  let redis: Redis;
  let queue: Queue<TaskBatch>;

  beforeAll(async () => {
    node = await startTestNode({}, 'stale-term', { api: false, scheduler: false, worker: true });
    redis = new Redis(inject('redisUrl'));
    queue = new Queue<TaskBatch>(node.store.keys.nodeQueue('w-stale-term'), { connection: redis, prefix: node.store.keys.prefix });
  });

  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await node?.close();
  });

  const enqueue = async (jobId: string, term: number, from: number, to: number) => {
    const tasks: Array<readonly [number, unknown]> = [];
    for (let i = from; i < to; i++) tasks.push([i, { i, micros: 0 }]);
    const data: TaskBatch = { jobId, job: 'ack-probe', term, ...taskFields(tasks), taskTimeoutMs: 10_000, taskMemoryMb: 256 };
    await queue.add('ack-probe', data, { jobId: batchId(data), removeOnComplete: true, removeOnFail: true });
  };
  const drained = async () => {
    for (;;) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const refused = async () => (await node.metrics.staleBatchesRefused.get()).values[0]?.value ?? 0;

  it('refuses the deposed leader’s batch past the adoption point, runs the earlier term’s batch below it, and stores each task once', async () => {
    const { store } = node;
    const id = newJobId();
    await store.createJob({ id, name: 'ack-probe', input: { tasks: 20 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' });

    // Leader 1 (term 1): places tasks 0-4 and checkpoints 0-9; 5-9 wait in a batch not yet sent.
    expect(await store.startJob(id, 1)).toMatchObject({ status: 'running', placed: 0 });
    await enqueue(id, 1, 0, 5);
    expect(await store.recordSplit(id, 1, 10)).toBe('running');
    await drained();
    expect((await store.getJob(id))?.progress.done).toBe(5);

    // Leader 2 (term 2) adopts the job at the checkpoint: tasks 10 on are its own to place.
    expect(await store.startJob(id, 2)).toMatchObject({ status: 'running', placed: 10 });

    // Deposed leader 1 enqueues late: a batch below the adoption point (queued before the new
    // term, as far as anyone can tell) and one past it; its checkpoint hits the fence.
    const before = await refused();
    await enqueue(id, 1, 5, 10);
    await enqueue(id, 1, 10, 20);
    await expect(store.recordSplit(id, 1, 20)).rejects.toMatchObject({ code: 'STALE_TERM' });
    // The write itself is fenced too (the worker's check reads a view up to 500 ms old): results
    // or a task failure from a term-1 batch reaching task 10 change nothing.
    const stale = { term: 1, lastIndex: 19 };
    expect(await storeResults(store, id, [[15, { i: 15, nonce: 'stale' }]], { jobType: 'ack-probe', batch: stale })).toEqual({ stored: 0, duplicates: 0, status: 'stale' });
    expect(await store.failTask(id, 15, { code: 'TASK_FAILED', message: 'from a stale batch' }, stale)).toBe('stale');
    expect((await store.getJob(id))?.status).toBe('running');
    await drained();
    const afterStale = await store.getJob(id);
    expect(afterStale?.progress.done).toBe(10); // 5-9 ran, 10-19 were refused
    expect(await refused()).toBe(before + 1);

    // Leader 2 places 10-19 (its batch id carries its term: no collision with the refused one).
    await enqueue(id, 2, 10, 20);
    expect(await store.recordSplit(id, 2, 20, 20)).toBe('running');
    await drained();
    const job = await store.getJob(id);
    console.info(`[stale-term] refused ${(await refused()) - before} stale batch; done ${job?.progress.done}/20; duplicates ${job?.progress.duplicates}`);
    expect(job?.progress.done).toBe(20);
    expect(job?.progress.duplicates).toBe(0);
    expect((await store.results.storedIndices(id, Array.from({ length: 20 }, (_, i) => i))).size).toBe(20);
  });

  it('a batch of a job that already ended: a long one is stopped once its job\'s view is read, a short one stores nothing', async () => {
    const { store } = node;
    const id = newJobId();
    await store.createJob({ id, name: 'spin', input: { tasks: 2, ms: 600_000 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
    await store.startJob(id, 2); // the fence is at term 2 since the test above
    await store.failJob(id, 2, { code: 'TASK_FAILED', message: 'ended before its batches ran' });
    const spin = async (index: number, ms: number) => {
      const data: TaskBatch = { jobId: id, job: 'spin', term: 2, ...taskFields([[index, { ms, ignoreSignal: false }]]), taskTimeoutMs: 120_000, taskMemoryMb: 256 };
      await queue.add('spin', data, { jobId: batchId(data), removeOnComplete: true, removeOnFail: true });
    };
    // Short: done before the view would be read; the fenced write refuses an ended job.
    await spin(0, 1);
    await drained();
    // Long: ten minutes of work, far past this test's timeout: drained only if stopped when the
    // view says the job has ended (however long a loaded machine takes to read it).
    await spin(1, 600_000);
    await drained();
    const job = await store.getJob(id);
    expect(job?.status).toBe('failed');
    expect(job?.progress.done).toBe(0);
    expect((await store.results.storedIndices(id, [0, 1])).size).toBe(0);
  }, 90_000); // below the batch's own 120 s task limit, which would otherwise end the spin

  it('runs an entry queued by an older scheduler, which carried its tasks as a `tasks` array', async () => {
    const { store } = node;
    const id = newJobId();
    await store.createJob({ id, name: 'ack-probe', input: { tasks: 4 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
    // Above the terms the tests before used (the store keeps the highest seen).
    const term = 5;
    expect(await store.startJob(id, term)).toMatchObject({ status: 'running', placed: 0 });
    const tasks = [0, 1, 2, 3].map((i) => [i, { i, micros: 0 }] as const);
    // The entry as the version before TaskBatch.tasksJson queued it.
    const legacy = { jobId: id, job: 'ack-probe', term, tasks, taskTimeoutMs: 10_000, taskMemoryMb: 256 };
    await queue.add('ack-probe', legacy as unknown as TaskBatch, { jobId: `${id}-0-t${term}`, removeOnComplete: true, removeOnFail: true });
    expect(await store.recordSplit(id, term, 4, 4)).toBe('running');
    await drained();
    const job = await store.getJob(id);
    expect(job?.progress).toMatchObject({ done: 4, failed: 0, duplicates: 0 });
  });
});

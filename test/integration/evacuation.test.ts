// A departed node's queue entries move to their new owners with their options whole: an option the scheduler sets is never lost in a move.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { HashRing } from '../../src/ring/index.js';
import { evacuateNode } from '../../src/scheduler/evacuation.js';
import { taskEntry } from '../../src/scheduler/queue-entry.js';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { JobStore, newJobId } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { batchId, batchTasks, type TaskBatch } from '../../src/transport/task-batch.js';
import { uniquePrefix } from '../helpers/prefix.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

describe('evacuateNode', () => {
  it('carries options the scheduler does not set today (priority, keepLogs, stackTraceLimit) to the new owners, with ids that follow the moved tasks', async () => {
    const store = new JobStore(redis, createKeys(uniquePrefix('evacuation')));
    const queues = new Map<string, Queue<TaskBatch>>();
    const queueFor = (node: string) => {
      let queue = queues.get(node);
      if (queue === undefined) queues.set(node, (queue = new Queue<TaskBatch>(store.keys.nodeQueue(node), { connection: redis, prefix: store.keys.prefix })));
      return queue;
    };
    try {
      const id = newJobId();
      await store.createJob({ id, name: 'primes', input: { from: 0, to: 100 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
      const { job } = await store.startJob(id, 1);
      if (job === undefined) throw new Error(`job ${id} was not created`);
      const tasks = Array.from({ length: 16 }, (_, i) => [i, { from: i * 10, to: i * 10 + 10 }] as const);
      const original = taskEntry(job, 1, tasks, 4);
      // A future entry option, and a creation time BullMQ keeps for the entry itself.
      const opts = { ...original.opts, priority: 7, keepLogs: 5, stackTraceLimit: 3, timestamp: 1_000 };
      await queueFor('w1').add(original.name, original.data, opts);

      const report = await evacuateNode({
        node: 'w1',
        lapsed: false,
        ring: HashRing.build([{ id: 'w2', weight: 1 }, { id: 'w3', weight: 1 }]),
        term: 2,
        store,
        connection: redis,
        queueFor,
        keyOf: (batch, [index]) => `${batch.jobId}:${index}`,
      });
      expect(report).toEqual({ node: 'w1', movedTasks: 16, entries: 1 });
      expect(await queueFor('w1').getJobCounts()).toMatchObject({ waiting: 0, prioritized: 0 });

      const moved = (await Promise.all(['w2', 'w3'].map((n) => queueFor(n).getJobs(['waiting', 'prioritized'], 0, -1)))).flat();
      expect(moved.length).toBeGreaterThan(0);
      expect(moved.flatMap((e) => batchTasks(e.data).map(([i]) => i)).sort((a, b) => a - b)).toEqual(tasks.map(([i]) => i));
      for (const entry of moved) {
        expect(entry.data.term).toBe(2);
        expect(entry.id).toBe(batchId(entry.data));
        expect(entry.opts).toMatchObject({ ...original.opts, priority: 7, keepLogs: 5, stackTraceLimit: 3, jobId: entry.id });
        expect(entry.priority).toBe(7); // honoured by BullMQ, not only carried along
        expect(await entry.getState()).toBe('prioritized');
        expect(entry.opts.timestamp).toBeUndefined();
        expect(entry.timestamp).toBeGreaterThan(1_000);
      }
    } finally {
      await Promise.all([...queues.values()].map((q) => q.close()));
    }
  });
});

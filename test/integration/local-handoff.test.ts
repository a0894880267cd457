// A whole job's entry handed by the leader to the worker in the same process (local-handoff.ts): started before the queue delivers it, run once, retried as the queue would.
import { Queue } from 'bullmq';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Counter, Histogram } from 'prom-client';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

let node: TestNode;
let queue: Queue;
beforeAll(async () => {
  node = await startTestNode({ threads: 2 }, 'handoff');
  queue = new Queue(node.store.keys.nodeQueue('w-handoff'), { connection: { url: inject('redisUrl') } as never, prefix: node.store.keys.prefix });
});
afterAll(async () => {
  await queue?.close();
  await node?.close();
});

const metrics = () => node.metrics as unknown as { handedEntries: Counter; taskDuration: Histogram; tasksFailed: Counter };
const handed = async () => (await metrics().handedEntries.get()).values.reduce((sum, v) => sum + v.value, 0);
/** Entry runs (one per `#run` of an entry, handed or delivered) of a job type. */
const runs = async (jobType: string) => (await metrics().taskDuration.get()).values.find((v) => v.metricName === 'ringpool_task_batch_duration_seconds_count' && v.labels.job_type === jobType)?.value ?? 0;
const failures = async (jobType: string) => (await metrics().tasksFailed.get()).values.filter((v) => v.labels.job_type === jobType).reduce((sum, v) => sum + v.value, 0);

describe('a whole job\'s entry handed to the worker beside the leader', () => {
  it('starts before the queue delivers it; the delivery waits for that run instead of running the task again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-handoff-'));
    const hold = join(dir, 'hold'); // the task waits while it exists
    writeFileSync(hold, '');
    try {
      const [handedBefore, runsBefore] = [await handed(), await runs('flaky')];
      const created = await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 1, holdWhile: hold } } });
      expect(created.status).toBe(202);
      const id = created.body.id as string;
      // The queue has delivered the entry (active) while the handed run holds its thread: one run so far, the handed one.
      await vi.waitFor(async () => expect((await queue.getJobs(['active'])).map((e) => e.data.jobId)).toContain(id), { timeout: 10_000, interval: 20 });
      expect(await handed()).toBe(handedBefore + 1);
      rmSync(hold);
      const job = await node.waitForJob(id);
      expect(job.status).toBe('completed');
      expect((await node.api(`/v1/jobs/${id}/result`)).body.result).toEqual({ sum: 0, count: 1 });
      // The delivered entry completes with the handed run, which ran the task once.
      await vi.waitFor(async () => expect((await queue.getJobs(['active', 'wait'])).map((e) => e.data.jobId)).not.toContain(id), { timeout: 10_000, interval: 20 });
      expect(await runs('flaky')).toBe(runsBefore + 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a handed run whose task fails is the entry\'s first attempt: the queue retries it as many times as the job allows, no more', async () => {
    const [handedBefore, failedBefore] = [await handed(), await failures('flaky')];
    const created = await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 1, failAt: 0 }, options: { retries: 2 } } });
    const job = await node.waitForJob(created.body.id);
    expect(job.status).toBe('failed');
    expect(job.error.message).toMatch(/task 0 exploded/);
    expect(await handed()).toBe(handedBefore + 1);
    // Three attempts (retries: 2): the handed one, then two from the queue.
    expect(await failures('flaky')).toBe(failedBefore + 3);
  });

  it('hands nothing of a job of several entries: those go through the queue, bounded by its concurrency', async () => {
    const before = await handed();
    const created = await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 3 }, options: { batchSize: 1 } } });
    expect((await node.waitForJob(created.body.id)).status).toBe('completed');
    expect(await handed()).toBe(before);
  });
});

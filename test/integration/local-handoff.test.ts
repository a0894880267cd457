// A short whole job's entry, handed by the leader to the worker in the same process instead of queued (local-handoff.ts): run once, retried as the queue would, unmeasured and multi-entry jobs queued as before.
import { Queue } from 'bullmq';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Counter } from 'prom-client';
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

const metrics = () => node.metrics as unknown as { handedEntries: Counter; tasksFailed: Counter };
const handed = async () => (await metrics().handedEntries.get()).values.reduce((sum, v) => sum + v.value, 0);
const failures = async (jobType: string) => (await metrics().tasksFailed.get()).values.filter((v) => v.labels.job_type === jobType).reduce((sum, v) => sum + v.value, 0);
/** Entries ever added to the worker's queue: BullMQ numbers them with this counter. */
const entriesAdded = async () => Number((await node.redis.get(queue.keys.id as string)) ?? 0);

async function run(body: Record<string, unknown>): Promise<{ id: string; job: any; handed: number; entries: number }> {
  const [handedBefore, entriesBefore] = [await handed(), await entriesAdded()];
  const created = await node.api('/v1/jobs', { body });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  const job = await node.waitForJob(created.body.id);
  return { id: created.body.id, job, handed: (await handed()) - handedBefore, entries: (await entriesAdded()) - entriesBefore };
}

describe('a whole job\'s entry handed to the worker beside the leader', () => {
  it('runs a short one-task job without a queue entry once its type is measured; the type\'s first job goes through the queue', async () => {
    const first = await run({ job: 'flaky', input: { tasks: 1 } });
    expect(first.job.status).toBe('completed');
    expect([first.handed, first.entries]).toEqual([0, 1]); // no task time measured yet
    const second = await run({ job: 'flaky', input: { tasks: 1 } });
    expect(second.job.status).toBe('completed');
    expect([second.handed, second.entries]).toEqual([1, 0]);
    expect((await node.api(`/v1/jobs/${second.id}/result`)).body.result).toEqual({ sum: 0, count: 1 });
    // The run's write recorded the split it stood for.
    expect(second.job.progress).toMatchObject({ placed: 1, total: 1, done: 1 });
  });

  it('a handed run whose task fails is the first attempt: queued then, the entry is retried as many times as the job allows, no more', async () => {
    const before = await failures('flaky');
    const { job, handed: taken, entries } = await run({ job: 'flaky', input: { tasks: 1, failAt: 0 }, options: { retries: 2 } });
    expect(job.status).toBe('failed');
    expect(job.error.message).toMatch(/task 0 exploded/);
    expect([taken, entries]).toEqual([1, 1]);
    // Three attempts (retries: 2): the handed one, then two of the queue's entry.
    expect((await failures('flaky')) - before).toBe(3);
  });

  it('the queued entry\'s attempt follows the handed one: a task that fails only on attempt 0 succeeds on the one retry the job allows', async () => {
    const before = await failures('flaky');
    const { job, handed: taken, entries } = await run({ job: 'flaky', input: { tasks: 1, failOnceAt: 0 }, options: { retries: 1 } });
    expect([taken, entries]).toEqual([1, 1]);
    expect(job.status).toBe('completed');
    expect((await failures('flaky')) - before).toBe(1);
  });

  it('a handed run that did not end the job (its reduce failed in the thread) has its split recorded: the leader\'s reduce fails the job with the cause', async () => {
    await run({ job: 'which-thread', input: { tasks: [{ ms: 0 }] } }); // measures the type
    const { job, handed: taken } = await run({ job: 'which-thread', input: { tasks: [{ ms: 0 }], reduce: 'throw' } });
    expect(taken).toBe(1);
    expect(job.status).toBe('failed');
    expect(job.error.message).toMatch(/reduce failed: reduce broke on purpose/);
  });

  it('a handed job cancelled mid-task ends cancelled, with no split recorded after it, and the thread is free for the next', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-handoff-'));
    const hold = join(dir, 'hold'); // the task waits while it exists
    writeFileSync(hold, '');
    try {
      const before = await handed();
      const created = await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 1, holdWhile: hold } } });
      await vi.waitFor(async () => expect(await handed()).toBe(before + 1), { timeout: 10_000, interval: 20 });
      expect((await node.api(`/v1/jobs/${created.body.id}`, { method: 'DELETE' })).status).toBe(200);
      const job = await node.waitForJob(created.body.id);
      expect(job.status).toBe('cancelled');
      expect(job.progress).toMatchObject({ done: 0, total: null });
      // Both threads free again: two jobs at once complete while the hold is still there (their tasks do not hold).
      const next = await Promise.all([0, 1].map(() => run({ job: 'flaky', input: { tasks: 1 } })));
      expect(next.map((n) => n.job.status)).toEqual(['completed', 'completed']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands nothing of a job of several entries: those go through the queue, bounded by its concurrency', async () => {
    const { job, handed: taken, entries } = await run({ job: 'flaky', input: { tasks: 3 }, options: { batchSize: 1 } });
    expect(job.status).toBe('completed');
    expect([taken, entries]).toEqual([0, 3]);
  });
});

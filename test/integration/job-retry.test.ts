// POST /v1/jobs/:id/retry while entries of the failed run are still in the worker's queue, and
// after the worker has seen the job end: the retry's tasks run, and the job completes.
import { Queue } from 'bullmq';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

let node: TestNode;
let queue: Queue;
beforeAll(async () => {
  node = await startTestNode({ threads: 2 }, 'retry');
  queue = new Queue(node.store.keys.nodeQueue('w-retry'), { connection: { url: inject('redisUrl') } as never, prefix: node.store.keys.prefix });
});
afterAll(async () => {
  await queue?.close();
  await node?.close();
});

describe('retrying a failed job', () => {
  it('runs every task without a result, though the worker saw the job fail and old entries are still in flight', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-retry-'));
    const hold = join(dir, 'hold'); // every task but 1 waits while it exists
    const fail = join(dir, 'fail'); // task 1 fails once it exists…
    const failing = join(dir, 'failing'); // …and while this one exists
    writeFileSync(hold, '');
    writeFileSync(failing, '');
    try {
      const input = { tasks: 10, failAt: 1, failWhen: fail, failWhile: failing, holdWhile: hold };
      const created = await node.api('/v1/jobs', { body: { job: 'flaky', input, options: { retries: 0, batchSize: 1 } } });
      expect(created.status).toBe(202);
      const id = created.body.id as string;
      // The entries in flight have read the job's view (running); once it is older than the
      // worker's 500 ms cache, the next entry reads it again after the failure, and sees it ended.
      await vi.waitFor(async () => expect((await node.api(`/v1/jobs/${id}`)).body.progress.placed).toBe(10), { timeout: 20_000, interval: 50 });
      await new Promise((r) => setTimeout(r, 1000));
      writeFileSync(fail, '');
      expect((await node.waitForJob(id)).status).toBe('failed');
      // The failed run's entries that were not in flight are gone (skipped: the job had ended);
      // those in flight still hold their tasks.
      await vi.waitFor(async () => expect(await queue.getWaitingCount()).toBe(0), { timeout: 20_000, interval: 50 });
      expect(await queue.getActiveCount()).toBeGreaterThan(0);

      rmSync(failing);
      expect((await node.api(`/v1/jobs/${id}/retry`, { method: 'POST' })).status).toBe(202);
      rmSync(hold);
      const job = await node.waitForJob(id, 30_000);
      expect(job.status).toBe('completed');
      expect(job.reruns).toBe(1);
      expect((await node.api(`/v1/jobs/${id}/result`)).body.result).toEqual({ sum: 90, count: 10 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

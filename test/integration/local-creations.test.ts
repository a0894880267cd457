// A leader that splits a job from the record the API in its process created (local-creations.ts) writes nothing of that split until start-job.lua has adopted the job.
import { Queue } from 'bullmq';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Counter } from 'prom-client';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { monitorRedis } from '../helpers/redis-monitor.js';

let node: TestNode;
let queue: Queue;
beforeAll(async () => {
  node = await startTestNode({ threads: 1 }, 'creations');
  queue = new Queue(node.store.keys.nodeQueue('w-creations'), { connection: { url: inject('redisUrl') } as never, prefix: node.store.keys.prefix });
});
afterAll(async () => {
  await queue?.close();
  await node?.close();
});

const handed = async () => (await (node.metrics as unknown as { handedEntries: Counter }).handedEntries.get()).values.reduce((sum, v) => sum + v.value, 0);

describe('a split begun from the record the API in the same process created', () => {
  it('adds no entry and records nothing when start-job.lua refuses the leader (a higher term fenced it out)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-creations-'));
    const hold = join(dir, 'hold');
    const fence = node.store.keys.fence;
    let term: string | null = null;
    try {
      // The type measured (so its next jobs take the quick path), then the one thread held by a handed job:
      // the job below cannot be handed, and would be queued by a split that did not wait for start-job.lua.
      expect((await node.waitForJob((await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 1 } } })).body.id)).status).toBe('completed');
      term = await node.redis.get(fence); // the leader's, written by its first fenced script
      expect(Number(term)).toBeGreaterThan(0);
      writeFileSync(hold, '');
      const held = (await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 1, holdWhile: hold } } })).body.id as string;
      await vi.waitFor(async () => expect(await handed()).toBe(1), { timeout: 10_000, interval: 20 });

      await node.redis.set(fence, Number(term) + 100); // a leader of a later term exists, as far as Redis knows
      const monitor = await monitorRedis(inject('redisUrl'));
      const entries = Number((await node.redis.get(queue.keys.id as string)) ?? 0);
      const id = (await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 1 } } })).body.id as string;
      try {
        // The leader ran start-job.lua for the job (refused: stale term), and again at its sweep a few
        // seconds later, which begins only once the first split of the job has ended (one at a time per job).
        const startJobCalls = () => monitor.sent.filter((s) => s.source !== 'lua' && /^evalsha /i.test(s.command) && s.command.includes(`${fence} `) && s.command.includes(`:job:${id} `)).length;
        await vi.waitFor(() => expect(startJobCalls()).toBeGreaterThanOrEqual(2), { timeout: 15_000, interval: 50 });
        await monitor.settle(node.redis);
      } finally {
        monitor.stop();
      }
      expect(Number((await node.redis.get(queue.keys.id as string)) ?? 0)).toBe(entries);
      expect((await node.api(`/v1/jobs/${id}`)).body).toMatchObject({ status: 'queued', progress: { placed: 0, total: null } });

      // The leader's term back: its sweep splits the job, which completes once the thread is free.
      await node.redis.set(fence, term as string);
      rmSync(hold);
      expect((await node.waitForJob(held)).status).toBe('completed');
      expect((await node.waitForJob(id)).status).toBe('completed');
    } finally {
      if (term !== null) await node.redis.set(fence, term);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

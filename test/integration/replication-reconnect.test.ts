// The worker node keeps consuming its BullMQ queue after Redis restarts, and after Sentinel fails over a frozen master.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { startRedisTopology, type RedisTopology } from '../helpers/redis-topology.js';
import { batchTasks } from '../../src/transport/task-batch.js';

/** Waits until the job has at least `done` results (read through the node's own store). */
async function waitForDone(node: TestNode, id: string, done: number): Promise<void> {
  for (;;) {
    const job = await node.store.getJob(id);
    if (job !== undefined && job.progress.done >= done) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Submits, retrying while the API answers 503 (it fails fast while Redis is away), as a client would. */
async function submitWhenUp(node: TestNode, body: unknown): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await node.api('/v1/jobs', { body });
    if (res.status === 202) return res.body.id as string;
    if (res.status !== 503 || Date.now() > deadline) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a Redis restart under a running job', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringpool-restart-'));
  let redis: LocalRedis | undefined;
  let node: TestNode | undefined;

  afterAll(async () => {
    await node?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /*
   * What a restart may cost: BullMQ moves an entry to "completed" and takes the next one in one
   * script. If Redis ran it but shut down before the reply went out, ioredis resends it to the
   * restarted server, which refuses it (that entry is no longer active); the next entry it had
   * taken stays "active" under a lock no worker renews, until the lock lapses and BullMQ's stalled
   * check puts it back (lockDuration 30 s + stalledInterval 30 s today). So: the next job must run
   * at once, and the interrupted job must finish, or lack only tasks of such orphaned entries.
   */
  it('the worker takes the next job, and the interrupted job finishes or waits only on orphaned entries', async () => {
    redis = await startLocalRedis({ dir, appendOnly: true });
    const port = redis.port;
    node = await startTestNode({ redisUrl: redis.url, minReplicas: 0 }, 'restart');
    const tasks = 3_000;
    const first = await node.api('/v1/jobs', { body: { job: 'ack-probe', input: { tasks, micros: 1_000 } } });
    expect(first.status).toBe(202);
    const id = first.body.id as string;
    await waitForDone(node, id, 500);

    // SIGTERM: Redis flushes its append-only file and exits; started again on the same port, it reloads it.
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500)); // the node is cut off for a while
    redis = await startLocalRedis({ dir, port, appendOnly: true });

    const second = await submitWhenUp(node, { job: 'ack-probe', input: { tasks: 300 } });
    expect((await node.waitForJob(second, 60_000)).status).toBe('completed');

    // Then the interrupted job: it ends, or the worker has run everything else and the job waits
    // only on tasks of entries still marked active (orphaned: no worker runs them). Either is
    // awaited as such; not "whatever is left after 8 s", which a slow machine turns into waiting
    // entries that would read as lost.
    const all = [...Array(tasks).keys()];
    const queue = node.store.workers.queue('w-restart');
    let state: { ended: any } | { missing: number[]; orphaned: number[] } | undefined;
    try {
      await expect
        .poll(async () => {
          const job = (await node!.api(`/v1/jobs/${id}`)).body;
          if (['completed', 'failed', 'cancelled'].includes(job.status)) return (state = { ended: job });
          const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'paused');
          if (Object.values(counts).some((n) => n > 0)) return undefined; // the worker has more to take
          const stored = await node!.store.results.storedIndices(id, all);
          const missing = all.filter((i) => !stored.has(i));
          if (missing.length === 0) return undefined; // every result is in: the job's end follows
          const orphaned = (await queue.getJobs(['active'])).flatMap((e) => batchTasks(e.data).map(([i]) => i));
          return missing.every((i) => orphaned.includes(i)) ? (state = { missing, orphaned }) : undefined;
        }, { timeout: 90_000, interval: 200 })
        .toBeDefined();
    } finally {
      await queue.close();
    }
    if (state !== undefined && 'ended' in state) {
      expect(state.ended.status).toBe('completed');
      return;
    }
    const { missing, orphaned } = state as { missing: number[]; orphaned: number[] };
    console.info(`[replication-reconnect] interrupted job waits on ${missing.length} task(s) of orphaned active entries (BullMQ stalled check)`);
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.filter((i) => !orphaned.includes(i))).toEqual([]);
  }, 240_000);
});

describe('a frozen master under Sentinel', () => {
  let topology: RedisTopology | undefined;
  let node: TestNode | undefined;

  afterAll(async () => {
    await node?.close();
    await topology?.stop();
  });

  /*
   * A frozen master (SIGSTOP: a hung host) keeps every socket open, so no client notices by
   * itself: commands just wait. The connections subscribe to Sentinel's `+switch-master`
   * (ioredis failoverDetector, src/node/redis-connections.ts) and reconnect to the promoted node.
   * The old master stays frozen until the end: nothing but that notice moves the clients.
   */
  it('is replaced by a replica; the job finishes and the worker takes the next job', async () => {
    topology = await startRedisTopology({ replicas: 2, sentinels: 3 });
    node = await startTestNode({ sentinels: [...topology.sentinels], sentinelName: topology.masterName, minReplicas: 1, redisUrl: undefined }, 'frozen');
    const first = await node.api('/v1/jobs', { body: { job: 'ack-probe', input: { tasks: 4_000, micros: 800 }, options: { retries: 6 } } });
    expect(first.status).toBe(202);
    await waitForDone(node, first.body.id, 500);

    const oldMaster = topology.initialMaster.port;
    topology.pause(oldMaster);
    const promoted = await topology.waitForFailover(oldMaster);

    expect((await node.waitForJob(first.body.id, 120_000)).status).toBe('completed');
    const second = await submitWhenUp(node, { job: 'ack-probe', input: { tasks: 300 } });
    expect((await node.waitForJob(second, 60_000)).status).toBe('completed');
    // The API's view may learn of the promotion a moment after the store's connections did.
    await expect.poll(async () => (await node!.api('/v1/cluster')).body.redis?.master?.address, { timeout: 60_000 }).toBe(`127.0.0.1:${promoted.port}`);
  }, 300_000);
});

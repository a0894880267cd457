// A node heals without a restart: connections that ended come back, a worker that cannot work stops heartbeating, the cluster view names the leader.
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { schedulerViews } from '../../src/node/cluster-view.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends a connection as ioredis's Sentinel connector does in the race that
 * connection-heal.test.ts reproduces with real sentinels: the connection drops, the next connect
 * attempt fails mid-way, and ioredis gives the connection up for good (status `end`).
 */
async function forceEnd(redis: Redis): Promise<void> {
  type Connector = { connect: (...args: unknown[]) => Promise<unknown> };
  const connector = (redis as unknown as { connector: Connector }).connector;
  const connect = connector.connect;
  connector.connect = () => {
    connector.connect = connect;
    return Promise.reject(new Error('Connection is closed.'));
  };
  const ended = new Promise((r) => redis.once('end', r));
  redis.stream.destroy();
  await ended;
}

const nodes: TestNode[] = [];
afterAll(async () => {
  for (const node of nodes) await node.close();
});

describe('a node whose Redis connections ended', () => {
  it('connects each again by itself: the API answers, /readyz is ready, a job submitted after completes', async () => {
    const node = await startTestNode({}, 'heal-all');
    nodes.push(node);
    const names = node.connections.report().map((c) => c.name);
    // Beside the scheduler, the worker stores its results on a connection of its own (docs/performance.md, `latency`): healed too.
    expect(names).toEqual(expect.arrayContaining(['store', 'worker-store', 'api', 'worker-bullmq', 'scheduler-wake', 'scheduler-membership']));
    for (const name of names) await forceEnd(node.connections.get(name) as Redis);

    // Ended for good in plain ioredis: here every one is connected again.
    await until('/readyz to answer ready', 15_000, async () => (await node.api('/readyz')).status === 200);
    const id = await until('a submission to be accepted', 15_000, async () => {
      const res = await node.api('/v1/jobs', { body: { job: 'primes', input: { from: 0, to: 100_000 } } });
      return res.status === 202 ? (res.body.id as string) : undefined;
    });
    const job = await node.waitForJob(id, 30_000);
    expect(job.status).toBe('completed');
    expect((await node.api(`/v1/jobs/${id}/result`)).body.result).toBe(9592);
    const metrics = (await node.api('/metrics')).body as string;
    const repaired = [...metrics.matchAll(/^ringpool_redis_connection_repairs_total\{connection="([^"]+)",cause="ended"\} (\d+)/gm)].map((m) => m[1]);
    expect(repaired.sort()).toEqual([...names].sort());
  });

  it('an API whose store connection ended answers again, not 503 for good', async () => {
    const node = await startTestNode({}, 'heal-api', { api: true, scheduler: false, worker: false });
    nodes.push(node);
    await forceEnd(node.connections.get('api') as Redis);
    await until('GET /v1/jobs to answer 200', 15_000, async () => (await node.api('/v1/jobs')).status === 200);
    expect((await node.api('/readyz')).status).toBe(200);
  });
});

describe('a worker node that cannot take work', () => {
  it('stops heartbeating (its lease lapses and its tasks move) and says why on /readyz', async () => {
    const node = await startTestNode({}, 'no-queue', { api: false, scheduler: false, worker: true });
    nodes.push(node);
    const heartbeatAt = async () => {
      const raw = await node.redis.hget(node.store.keys.workers, 'w-no-queue');
      return raw === null ? 0 : (JSON.parse(raw) as { heartbeatAt: number }).heartbeatAt;
    };
    const first = await until('a first heartbeat', 10_000, async () => (await heartbeatAt()) || undefined);
    await until('a later heartbeat', 10_000, async () => (await heartbeatAt()) > first || undefined);

    // Its queue connection is gone (closed for good: no repair brings it back); the heartbeat's own connection still works.
    node.connections.get('worker-bullmq')?.disconnect();
    // The gate the heartbeat passes through is the one /readyz reports: once it says so, a
    // heartbeat already on its way may still land, and then none.
    const ready = await until('/readyz to say the node cannot work', 10_000, async () => {
      const res = await node.api('/readyz');
      return res.status === 503 ? res : undefined;
    });
    await sleep(500);
    const last = await heartbeatAt();
    await sleep(2500); // five heartbeat periods
    expect(await heartbeatAt()).toBe(last);

    expect(ready.body.error.code).toBe('REDIS_UNAVAILABLE');
    expect(ready.body.error.message).toContain('worker-bullmq (closed');
  });
});

describe('GET /v1/cluster', () => {
  it('names the leader its followers hear from when the leader\'s own report is late', async () => {
    const node = await startTestNode({}, 'leader-view', { api: false, scheduler: false, worker: false });
    nodes.push(node);
    const { redis } = node;
    const { keys } = node.store;
    const now = Date.now();
    const report = (id: string, role: string, leaderId: string, at: number) => JSON.stringify({ id, role, term: 7, commitIndex: 3, lastContactMs: null, url: `http://${id}`, leaderId, at });
    await redis.hset(keys.schedulers, 's1', report('s1', 'leader', 's1', now - 60_000), 's2', report('s2', 'follower', 's1', now), 's3', report('s3', 'follower', 's1', now));
    const view = await schedulerViews(node.store.schedulerStatuses);
    expect(view.leaderId).toBe('s1');
    expect(view.schedulers.find((s) => s.id === 's1')?.role).toBe('unknown');
    await redis.hset(keys.schedulers, 's2', report('s2', 'follower', '', now), 's3', report('s3', 'candidate', '', now));
    expect((await schedulerViews(node.store.schedulerStatuses)).leaderId).toBeNull();
  });
});

// A scheduler leader that loses Redis while its Raft peers still hear it hands leadership to one that can work.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { processClusterPerTest } from '../helpers/process-cluster-per-test.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const startCluster = processClusterPerTest();
const proxies = new Map<string, TcpProxy>();
afterAll(() => proxies.forEach((p) => p.close()));

async function readyz(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
}

describe('a scheduler leader cut off from Redis', () => {
  it('stops leading: another scheduler is elected and finishes jobs; it is ready again once Redis is back', async () => {
    const redis = new URL(inject('redisUrl'));
    for (const id of ['s1', 's2', 's3']) proxies.set(id, await startTcpProxy({ host: redis.hostname, port: Number(redis.port) }));
    const cluster = await startCluster({
      name: 'redis-loss',
      schedulers: 3,
      workers: [{ id: 'w1', threads: 1 }],
      schedulerRedisUrl: (id) => `redis://127.0.0.1:${proxies.get(id)?.port}`,
    });
    const leader = await cluster.waitForLeader();
    const others = cluster.schedulerIds.filter((id) => id !== leader.id);

    // Its Raft links stay up: its heartbeats alone would keep it leader for ever.
    proxies.get(leader.id)?.cut();
    const next = await cluster.waitForLeader({ among: others, aboveTerm: leader.term, timeoutMs: 30_000 });
    expect(others).toContain(next.id);
    await cluster.waitFor('the cut-off scheduler to follow', async () => (await cluster.status(leader.id))?.role === 'follower', 10_000);
    expect(await readyz(cluster.schedulerUrl(leader.id))).toBe(503);
    // It starts no election meanwhile: the new leader keeps its term.
    const job = await cluster.call('/v1/jobs', { body: { job: 'spin', input: { tasks: 4, ms: 5 } } });
    expect((await cluster.waitForJobEnd(job.id, 60_000)).status).toBe('completed');
    expect((await cluster.waitForLeader({ among: others })).term).toBe(next.term);

    proxies.get(leader.id)?.heal();
    await cluster.waitFor('the healed scheduler to be ready', async () => (await readyz(cluster.schedulerUrl(leader.id))) === 200, 30_000);
  }, 150_000);
});

// With a cluster secret, only signed worker registrations reach the ring; a forged one is refused and counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterView } from '../../src/node/cluster-view.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ clusterSecret: 'test-cluster-secret-0123456789' }, 'secret');
});
afterAll(async () => {
  await node?.close();
});

describe('cluster secret', () => {
  it('admits the signed worker, refuses a forged registration, and jobs run only on the real node', async () => {
    const forged = { id: 'intruder', threads: 64, host: 'x', pid: 1, startedAt: Date.now(), heartbeatAt: Date.now(), busy: 0, draining: false };
    const timer = setInterval(() => void node.redis.hset(node.store.keys.workers, 'intruder', JSON.stringify({ ...forged, heartbeatAt: Date.now() })), 100);
    try {
      const created = await node.api('/v1/jobs', { body: { job: 'primes', input: { from: 0, to: 200_000 } } });
      const job = await node.waitForJob(created.body.id);
      expect(job.status).toBe('completed');
      expect((await node.api(`/v1/jobs/${created.body.id}/result`)).body.result).toBe(17984);
      // Nothing was placed on the forged node's queue.
      expect(await node.redis.exists(`${node.prefix}:node-intruder:id`)).toBe(0);
      // The ring the leader committed (and that the API draws) holds only the signed node.
      // (the view reads the leader's status, published twice a second).
      let shares: string[] = [];
      await expect
        .poll(async () => (shares = (await node.api('/v1/cluster')).body.ring.shares.map((s: { id: string }) => s.id)).length, { timeout: 60_000 })
        .toBeGreaterThan(0)
        .catch(() => {}); // the expectation below says what the view shows instead
      expect(shares).toEqual(['w-secret']);
      expect(node.consensus?.control.snapshot().members.map((m) => m.id)).toEqual(['w-secret']);
    } finally {
      clearInterval(timer);
    }
  });
  it('draws no forged node in the ring the view shows before any leader publishes one', async () => {
    const forged = { id: 'intruder', threads: 64, host: 'x', pid: 1, startedAt: Date.now(), heartbeatAt: Date.now(), busy: 0, draining: false };
    await node.redis.hset(node.store.keys.workers, 'intruder', JSON.stringify(forged));
    // No leader yet: the ring is drawn from the live registrations, the signed ones only.
    const noLeader = async () => ({ leaderId: null, term: 0, schedulers: [] });
    const cluster = createClusterView({ store: node.store, leaseMs: 2000, schedulers: noLeader, clusterSecret: 'test-cluster-secret-0123456789' });
    try {
      const view = await cluster.view();
      expect(view.workers.map((w) => w.id)).toContain('intruder'); // listed as registered, for the operator to see
      expect(view.ring.shares.map((s) => s.id)).toEqual(['w-secret']);
    } finally {
      await cluster.close();
      await node.redis.hdel(node.store.keys.workers, 'intruder');
    }
  });
});

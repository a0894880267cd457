// --read-from replica: job lists are served from a replica (staleness harmless there); everything else from the master.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ readFrom: 'replica', replicaUrl: inject('redisReplicaUrl') }, 'replica-reads');
});
afterAll(async () => {
  await node?.close();
});

describe('reading lists from a replica', () => {
  it('lists and searches jobs through a connection to the replica', async () => {
    const created = await node.api('/v1/jobs', { body: { job: 'primes', input: { from: 0, to: 1000 } } });
    expect((await node.waitForJob(created.body.id)).status).toBe('completed');
    let listed: Array<{ id: string }> = [];
    for (let i = 0; i < 50 && !listed.some((j) => j.id === created.body.id); i++) {
      listed = (await node.api('/v1/jobs?job=primes')).body.jobs;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(listed.map((j) => j.id)).toContain(created.body.id);
    expect((await node.api(`/v1/jobs?q=${created.body.id.slice(0, 6)}`)).body.jobs.map((j: { id: string }) => j.id)).toContain(created.body.id);
    const replica = new Redis(inject('redisReplicaUrl'));
    try {
      expect(String(await replica.call('CLIENT', 'LIST'))).toMatch(/name=ringpool:api-lists/);
    } finally {
      replica.disconnect();
    }
  });
});

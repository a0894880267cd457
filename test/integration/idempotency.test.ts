// Idempotent submits (docs/tenants.md): the same Idempotency-Key and body answer the same job, another body 422, keys per tenant, kept across a leader change and a Redis failover.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { startRedisTopology, type RedisTopology } from '../helpers/redis-topology.js';

const ACME = 'acme-idem-token-0123456789';
const BETA = 'beta-idem-token-0123456789';
const TOKENS = [`${ACME}:submit+read@acme`, `${BETA}:submit+read@beta`];
const BODY = { job: 'spin', input: { tasks: 1, ms: 0 }, options: { retries: 1 } };

function post(node: TestNode, body: unknown, key: string | undefined, token = ACME) {
  return node.api('/v1/jobs', { body, headers: { authorization: `Bearer ${token}`, ...(key === undefined ? {} : { 'idempotency-key': key }) } });
}

async function ended(node: TestNode, id: string): Promise<{ status: string; progress: Record<string, number> }> {
  for (const deadline = Date.now() + 30_000; ; ) {
    const { body } = await node.api(`/v1/jobs/${id}`, { headers: { authorization: `Bearer ${ACME}` } });
    if (['completed', 'failed', 'cancelled'].includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${body.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function jobCount(node: TestNode, token = ACME): Promise<number> {
  return (await node.api('/v1/jobs?limit=500', { headers: { authorization: `Bearer ${token}` } })).body.jobs.length;
}

describe('Idempotency-Key on POST /v1/jobs', () => {
  let node: TestNode;
  beforeAll(async () => {
    // The API alone: the key is the API's, and queued jobs are all these tests need.
    node = await startTestNode({ apiTokens: TOKENS, maxJobsInFlight: 5 }, 'idem', { api: true, scheduler: false, worker: false });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('answers the same key and body with the job it created (200), whatever the key order of the body', async () => {
    const first = await post(node, BODY, 'order-7f3a');
    expect(first.status).toBe(202);
    const again = await post(node, BODY, 'order-7f3a');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id, status: 'queued', links: { self: `/v1/jobs/${first.body.id}` } });
    const reordered = await post(node, { options: { retries: 1 }, input: { ms: 0, tasks: 1 }, job: 'spin' }, 'order-7f3a');
    expect(reordered.status).toBe(200);
    expect(reordered.body.id).toBe(first.body.id);
    // Without a key, the same body is a new job.
    const plain = await post(node, BODY, undefined);
    expect(plain.status).toBe(202);
    expect(plain.body.id).not.toBe(first.body.id);
  });

  it('documents the header and the 422 on the submitJob operation of /v1/openapi.json', async () => {
    const { body } = await node.api('/v1/openapi.json', { headers: { authorization: `Bearer ${ACME}` } });
    const op = body.paths['/v1/jobs'].post;
    expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'idempotency-key', in: 'header' })]));
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '422', '429']));
  });

  it('answers the same key with another body 422 naming the key, and stores nothing', async () => {
    const first = await post(node, BODY, 'other-body-1');
    expect(first.status).toBe(202);
    const before = await jobCount(node);
    const other = await post(node, { ...BODY, input: { tasks: 2, ms: 0 } }, 'other-body-1');
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('IDEMPOTENCY_MISMATCH');
    expect(other.body.error.message).toMatch(/Idempotency-Key/);
    expect(other.body.error.details.jobId).toBe(first.body.id);
    expect(await jobCount(node)).toBe(before);
  });

  it('keeps keys per tenant: the same key in another tenant is another job', async () => {
    const acme = await post(node, BODY, 'shared-key');
    const beta = await post(node, BODY, 'shared-key', BETA);
    expect([acme.status, beta.status]).toEqual([202, 202]);
    expect(beta.body.id).not.toBe(acme.body.id);
    expect((await post(node, BODY, 'shared-key', BETA)).body.id).toBe(beta.body.id);
  });

  it('refuses a key that is empty, over 255 characters or not visible ASCII with a 400 naming the header, and stores nothing', async () => {
    const before = await jobCount(node);
    for (const key of ['x'.repeat(256), 'with space', 'café']) {
      const r = await node.api('/v1/jobs', { body: BODY, headers: { authorization: `Bearer ${ACME}`, 'idempotency-key': Buffer.from(key).toString('latin1') } });
      expect(r.status, key).toBe(400);
      expect(r.body.error.message).toMatch(/^header Idempotency-Key: /);
    }
    expect((await post(node, BODY, 'x'.repeat(255))).status).toBe(202);
    expect(await jobCount(node)).toBe(before + 1);
  });

  it('answers a resent submission with its job even when the token is at its limit of jobs in flight', async () => {
    // ACME holds 5 queued jobs by now, its limit: a new key is refused, a known one answered.
    expect((await post(node, BODY, 'at-limit-new')).status).toBe(429);
    const known = await post(node, BODY, 'order-7f3a');
    expect(known.status).toBe(200);
  });

  it('lets the typed client send a key: its own (answered with the same job), or one it generates per call (resent safely)', async () => {
    const viaHeader = await post(node, { job: 'spin', input: { tasks: 3, ms: 0 } }, 'client-key-1', BETA);
    const beta = createClient({ url: node.url, token: BETA });
    const same = await beta.submit('spin', { tasks: 3, ms: 0 }, undefined, { idempotencyKey: 'client-key-1' });
    expect(same.id).toBe(viaHeader.body.id);
    // A generated key: two calls are two jobs, and a call the transport makes twice is one (see mayAskAgain).
    const sent: string[] = [];
    const counting = createClient({
      url: node.url,
      token: BETA,
      fetch: async (input, init) => {
        sent.push(new Headers(init?.headers).get('idempotency-key') ?? '');
        const res = await fetch(input, init);
        // The first answer is lost on its way back: the client resends the same request.
        if (sent.length === 1) throw new TypeError('fetch failed: socket hang up');
        return res;
      },
    });
    const before = await jobCount(node, BETA);
    const once = await counting.submit('spin', { tasks: 1, ms: 0 }, undefined, { idempotencyKey: true });
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent[1]).toBe(sent[0]);
    expect(await jobCount(node, BETA)).toBe(before + 1);
    expect((await node.api(`/v1/jobs/${once.id}`, { headers: { authorization: `Bearer ${BETA}` } })).status).toBe(200);
    // Without a key, a lost answer is not resent (the write may stand): the error reaches the caller.
    sent.length = 0;
    await expect(counting.submit('spin', { tasks: 1, ms: 0 })).rejects.toThrow(/cannot reach ringpool/);
  });
});

describe('an Idempotency-Key kept across a leader change and a Redis failover', () => {
  it('is answered, after the leader and the master are gone and a replica promoted, by the API of a new leader', async () => {
    let topology: RedisTopology | undefined;
    let first: TestNode | undefined;
    let second: TestNode | undefined;
    try {
      topology = await startRedisTopology({ replicas: 1 });
      const master = topology.initialMaster;
      await topology.waitForReplicas(master.port, 1);
      // A whole node (API, scheduler leader, worker) on the master, every write confirmed by WAIT 1.
      first = await startTestNode({ apiTokens: TOKENS, minReplicas: 1, redisUrl: `redis://${master.host}:${master.port}` }, 'idem-failover-a');
      const submitted = await post(first, BODY, 'across-failover');
      // 202: the job and its key are on the replica (the creation's WAIT 1 confirmed them).
      expect(submitted.status).toBe(202);
      const id = submitted.body.id as string;
      expect((await ended(first, id)).status).toBe('completed');
      // The leader goes, then the master is killed and its replica promoted (as Sentinel would).
      await first.close();
      await topology.kill(master.port);
      const replicaPort = topology.ports[1] as number;
      await topology.client(replicaPort).call('REPLICAOF', 'NO', 'ONE');
      second = await startTestNode({ apiTokens: TOKENS, minReplicas: 0, prefix: first.prefix, redisUrl: `redis://127.0.0.1:${replicaPort}` }, 'idem-failover-b');
      const again = await post(second, BODY, 'across-failover');
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ id, status: 'completed' });
      expect((await post(second, { ...BODY, input: { tasks: 9, ms: 0 } }, 'across-failover')).status).toBe(422);
      // The new leader runs new work; the first job ran once (its one task stored once).
      const fresh = await post(second, BODY, 'after-failover');
      expect(fresh.status).toBe(202);
      expect((await ended(second, fresh.body.id)).status).toBe('completed');
      expect((await ended(second, id)).progress).toMatchObject({ total: 1, done: 1, duplicates: 0 });
    } finally {
      await first?.close().catch(() => {});
      await second?.close();
      await topology?.stop();
    }
  }, 60_000);
});

// Limits answer with a clear 4xx (tasks per job, body size, jobs in flight per token), and a lost Redis with 503.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/app.js';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { countJobs } from '../helpers/store-helpers.js';

const A = 'token-a-0123456789abcdef';
const B = 'token-b-0123456789abcdef';

async function call(app: Hono, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await app.request(path, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, body: type.includes('json') ? await res.json() : await res.text() };
}

describe('limits on a running node', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ maxTasksPerJob: 5 }, 'apilimits');
  });
  afterAll(async () => {
    await node?.close();
  });

  it('a split that yields more than maxTasksPerJob fails the job with TOO_MANY_TASKS', async () => {
    const created = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 20, ms: 0 } } });
    expect(created.status).toBe(202);
    const job = await node.waitForJob(created.body.id);
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('TOO_MANY_TASKS');
    expect(job.error.message).toMatch(/more than 5 tasks \(maxTasksPerJob\)/);
    const result = await node.api(`/v1/jobs/${created.body.id}/result`);
    expect(result.status).toBe(409);
    expect(result.body.error.details.error.code).toBe('TOO_MANY_TASKS');
  });

  it('a split of exactly maxTasksPerJob tasks completes', async () => {
    const created = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 5, ms: 0 } } });
    expect((await node.waitForJob(created.body.id)).status).toBe('completed');
    expect((await node.api(`/v1/jobs/${created.body.id}/result`)).body.result).toBe(5);
  });

  it('a body over bodyLimitBytes is 413 and stores nothing', async () => {
    const app = createApi({ store: node.store, registry: node.registry }, { bodyLimitBytes: 2048 });
    const before = await countJobs(node.redis, node.store.keys);
    const res = await call(app, 'POST', '/v1/jobs', undefined, { job: 'spin', input: { tasks: 1, ms: 0 }, pad: 'x'.repeat(4096) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.body.error.message).toMatch(/2048 bytes/);
    expect(await countJobs(node.redis, node.store.keys)).toBe(before);
  });

  describe('jobs in flight per token (maxJobsInFlight)', () => {
    let app: Hono;
    beforeAll(() => {
      // The node's own API uses the configured limit; this one, on the same store, a small one.
      app = createApi({ store: node.store, registry: node.registry }, { apiTokens: [A, B], maxJobsInFlight: 2 });
    });
    // A job in flight until the test cancels it: its task waits for a file no one creates.
    let long: { job: string; input: { tasks: number; ms: number; until: string } };
    let gates: string;
    beforeAll(() => {
      gates = mkdtempSync(join(tmpdir(), 'ringpool-api-limits-'));
      long = { job: 'spin', input: { tasks: 1, ms: 0, until: join(gates, 'never') } };
    });
    afterAll(() => rmSync(gates, { recursive: true, force: true }));

    it('the job over the limit is 429 with Retry-After and stores nothing; another token is not affected', async () => {
      const first = await call(app, 'POST', '/v1/jobs', A, long);
      const second = await call(app, 'POST', '/v1/jobs', A, long);
      expect([first.status, second.status]).toEqual([202, 202]);
      const before = await countJobs(node.redis, node.store.keys);
      const third = await call(app, 'POST', '/v1/jobs', A, long);
      expect(third.status).toBe(429);
      expect(third.body.error.code).toBe('RATE_LIMITED');
      expect(third.body.error.message).toMatch(/2 jobs queued or running, the limit \(maxJobsInFlight\) is 2/);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await countJobs(node.redis, node.store.keys)).toBe(before);

      const other = await call(app, 'POST', '/v1/jobs', B, { job: 'spin', input: { tasks: 1, ms: 0 } });
      expect(other.status).toBe(202);

      // Cancelling one of A's jobs frees its slot (the quota prunes ended jobs when it is full).
      expect((await call(app, 'DELETE', `/v1/jobs/${first.body.id}`, A)).status).toBe(200);
      const again = await call(app, 'POST', '/v1/jobs', A, long);
      expect(again.status).toBe(202);
      expect((await call(app, 'POST', '/v1/jobs', A, long)).status).toBe(429);
      for (const id of [second.body.id, again.body.id]) await call(app, 'DELETE', `/v1/jobs/${id}`, A);
    });

    it('a completed job frees its slot', async () => {
      // A token of its own: nothing another test left running counts against it.
      const E = 'token-e-0123456789abcdef';
      const own = createApi({ store: node.store, registry: node.registry }, { apiTokens: [E], maxJobsInFlight: 2 });
      const quick = { job: 'spin', input: { tasks: 1, ms: 0 } };
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await call(own, 'POST', '/v1/jobs', E, quick);
        expect(res.status).toBe(202);
        ids.push(res.body.id);
      }
      for (const id of ids) expect((await node.waitForJob(id)).status).toBe('completed');
      expect((await call(own, 'POST', '/v1/jobs', E, quick)).status).toBe(202);
    });

    it('concurrent submissions never exceed the limit (admission is one Lua script)', async () => {
      const C = 'token-c-0123456789abcdef';
      const racy = createApi({ store: node.store, registry: node.registry }, { apiTokens: [C], maxJobsInFlight: 3 });
      const results = await Promise.all(Array.from({ length: 12 }, () => call(racy, 'POST', '/v1/jobs', C, long)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 202)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(9);
      for (const r of results) if (r.status === 202) await call(racy, 'DELETE', `/v1/jobs/${r.body.id}`, C);
    });

    it('retrying a failed job counts against the limit of the token that retries it', async () => {
      const D = 'token-d-0123456789abcdef';
      const tight = createApi({ store: node.store, registry: node.registry }, { apiTokens: [D], maxJobsInFlight: 1 });
      const failing = await call(tight, 'POST', '/v1/jobs', D, { job: 'flaky', input: { tasks: 2, failAt: 1, permanent: true }, options: { retries: 0 } });
      expect(failing.status).toBe(202);
      expect((await node.waitForJob(failing.body.id)).status).toBe('failed');
      const blocker = await call(tight, 'POST', '/v1/jobs', D, long);
      expect(blocker.status).toBe(202);
      const refused = await call(tight, 'POST', `/v1/jobs/${failing.body.id}/retry`, D);
      expect(refused.status).toBe(429);
      expect((await node.api(`/v1/jobs/${failing.body.id}`)).body.status).toBe('failed');
      await call(tight, 'DELETE', `/v1/jobs/${blocker.body.id}`, D);
      expect((await call(tight, 'POST', `/v1/jobs/${failing.body.id}/retry`, D)).status).toBe(202);
    });
  });
});

describe('Redis unreachable', () => {
  let dir: string;
  let redis: LocalRedis | undefined;
  let node: TestNode | undefined;
  let port: number | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringpool-api-limits-'));
    redis = await startLocalRedis({ dir });
    port = redis.port;
    node = await startTestNode({ redisUrl: redis.url }, 'redisdown');
  });
  afterAll(async () => {
    // A node closes cleanly only with its Redis up: bring it back if a failed assertion left it down.
    if (redis === undefined && port !== undefined) redis = await startLocalRedis({ dir, port }).catch(() => undefined);
    await node?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function timed(path: string, init?: Parameters<TestNode['api']>[1]) {
    const started = Date.now();
    const res = await (node as TestNode).api(path, init);
    return { ...res, ms: Date.now() - started };
  }

  it('answers 503 with a message at once, without waiting on Redis, and works again once Redis is back, without a restart', async () => {
    const n = node as TestNode;
    const created = await n.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 2, ms: 0 } } });
    expect(created.status).toBe(202);
    expect((await n.waitForJob(created.body.id)).status).toBe('completed');

    await (redis as LocalRedis).stop();
    redis = undefined;

    const probes = [
      await timed('/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 0 } } }),
      await timed('/v1/jobs'),
      await timed(`/v1/jobs/${created.body.id}`),
      await timed(`/v1/jobs/${created.body.id}/result`),
      await timed('/readyz'),
    ];
    // Later too, while the client is between reconnect attempts (its backoff has grown).
    await new Promise((r) => setTimeout(r, 2_500));
    probes.push(await timed('/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 0 } } }), await timed(`/v1/jobs/${created.body.id}/events`));
    for (const p of probes) {
      expect(p.status, JSON.stringify(p.body)).toBe(503);
      expect(p.body.error.code).toBe('REDIS_UNAVAILABLE');
      expect(p.body.error.message).toMatch(/Redis is unreachable/);
      expect(p.headers.get('retry-after')).toBe('2');
    }
    console.log(`[api-limits] 503 latencies with Redis down (ms): ${probes.map((p) => p.ms).join(', ')}`);
    const health = await timed('/healthz');
    expect(health.status).toBe(200);

    // "At once, without waiting on Redis", told apart from "after the client gave up on Redis"
    // (which a refused port brings about within seconds too) without timing either: a server on
    // Redis's port that takes connections and never answers, as a hung host would. A request that
    // waited on Redis would never be answered (the client's connect timeout ends at the TCP
    // connect, and nothing closes the link); a request that fails fast still is.
    const hung = new Set<Socket>();
    const blackhole = createServer((socket) => {
      hung.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => blackhole.listen(port, '127.0.0.1', resolve));
    try {
      await expect.poll(() => hung.size, { timeout: 60_000, message: 'the node to reconnect to the hung server' }).toBeGreaterThan(0);
      for (const [path, init] of [
        ['/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 0 } } }],
        [`/v1/jobs/${created.body.id}`, {}],
        ['/readyz', {}],
      ] as const) {
        const answered = await Promise.race([n.api(path, init), new Promise<undefined>((r) => setTimeout(r, 30_000, undefined))]);
        expect(answered, `${path} still unanswered after 30 s: the API waits on Redis`).toBeDefined();
        expect(answered?.status, JSON.stringify(answered?.body)).toBe(503);
        expect(answered?.body.error.code).toBe('REDIS_UNAVAILABLE');
      }
    } finally {
      for (const socket of hung) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    }

    redis = await startLocalRedis({ dir, port });
    const deadline = Date.now() + 60_000;
    let res = await n.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 2, ms: 0 } } });
    while (res.status !== 202 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      res = await n.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 2, ms: 0 } } });
    }
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    // Ready once every connection of the node is back (each reconnects on its own back-off).
    while ((await n.api('/readyz')).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await n.api('/readyz')).status).toBe(200);
    // The new server is empty, so the old job is gone: a 404, not a 5xx.
    expect((await n.api(`/v1/jobs/${created.body.id}`)).status).toBe(404);
    expect((await n.waitForJob(res.body.id, 30_000)).status).toBe('completed');
  }, 180_000);
});

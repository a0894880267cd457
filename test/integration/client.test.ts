// ringpool/client against a running node (real Redis, real workers): submit, status, result, events, lists, cancel, retry, typed errors, 401, 429 asked again, abort and timeout.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mandelbrot from '../../jobs/mandelbrot.js';
import type primes from '../../jobs/primes.js';
import {
  createClient,
  RingpoolApiError,
  RingpoolJobError,
  RingpoolNetworkError,
  RingpoolTimeoutError,
  type JobEvent,
  type JobTypes,
  type RetryEvent,
  type RingpoolClient,
} from '../../src/client/index.js';
import { freePort, startLocalRedis, type LocalRedis } from '../../src/store/local-redis.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

const TOKEN = 'client-test-token-0123456789';
const QUOTA_TOKEN = 'client-quota-token-0123456789';

let node: TestNode;
/** An API-only node on the same prefix (the main node's scheduler and worker run its jobs) allowing one job in flight per token. */
let quotaNode: TestNode;
let client: RingpoolClient;
/** Holds the files that `spin` and `flaky` tasks wait for or fail while. */
const gates = mkdtempSync(join(tmpdir(), 'ringpool-client-'));
const never = join(gates, 'never');

/** A spin job that runs until the test ends (or it is cancelled). */
const forever = { tasks: 1, ms: 0, until: never };

beforeAll(async () => {
  node = await startTestNode({ apiTokens: [TOKEN] }, 'client');
  quotaNode = await startTestNode({ prefix: node.prefix, apiTokens: [QUOTA_TOKEN], maxJobsInFlight: 1 }, 'client-quota', { api: true, scheduler: false, worker: false });
  client = createClient({ url: node.url, token: TOKEN });
}, 120_000);

afterAll(async () => {
  writeFileSync(never, ''); // the tasks still waiting end, so the worker's close need not wait for them
  await quotaNode?.close();
  await node?.close();
  rmSync(gates, { recursive: true, force: true });
});

describe('a job through the client', () => {
  it('submit → status → result of a JSON job, typed by its module', async () => {
    const typed = createClient<JobTypes<[typeof primes, typeof mandelbrot]>>({ url: node.url, token: TOKEN });
    const handle = await typed.submit('primes', { from: 0, to: 100 }, { retries: 1 });
    expect(handle.id).toMatch(/^[a-z0-9]+-[a-f0-9]+$/);
    const status = await handle.status();
    expect(status).toMatchObject({ id: handle.id, job: 'primes', input: { from: 0, to: 100 }, options: { retries: 1 } });
    expect(['queued', 'running', 'completed']).toContain(status.status);
    const count: number = await handle.result();
    expect(count).toBe(25);
    expect((await handle.status()).status).toBe('completed');
  });

  it('the result of an image job is its PNG bytes', async () => {
    const typed = createClient<JobTypes<[typeof primes, typeof mandelbrot]>>({ url: node.url, token: TOKEN });
    const image: Uint8Array = await (await typed.submit('mandelbrot', { width: 32, height: 24, maxIter: 50 })).result();
    expect(image).toBeInstanceOf(Uint8Array);
    const png = PNG.sync.read(Buffer.from(image));
    expect([png.width, png.height]).toEqual([32, 24]);
  });

  it('submitAndWait answers with the result when the job ends within the wait', async () => {
    const answer = await client.submitAndWait('primes', { from: 0, to: 1000 }, undefined, { waitMs: 30_000 });
    expect(answer).toMatchObject({ ended: true, status: 'completed', result: 168 });
    expect(await answer.handle.result()).toBe(168);
  });

  it('events() yields the job\'s progress, then its end, and stops', async () => {
    const handle = await client.submit('spin', { tasks: 4, ms: 20 });
    const events: JobEvent[] = [];
    for await (const e of handle.events()) events.push(e);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.slice(0, -1).every((e) => e.event === 'progress')).toBe(true);
    expect(events.at(-1)).toEqual({ event: 'end', data: { id: handle.id, status: 'completed' } });
    const last = events.at(-2) as Extract<JobEvent, { event: 'progress' }>;
    expect(last.data).toMatchObject({ id: handle.id, status: 'completed', progress: { total: 4, done: 4 }, error: null });
  });

  it('jobs.list iterates over every page', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, async () => (await client.submit('spin', { tasks: 1, ms: 0 })).id));
    const seen: string[] = [];
    for await (const job of client.jobs.list({ job: 'spin', limit: 2 })) seen.push(job.id);
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of ids) expect(seen).toContain(id);
    const first = await client.jobs.page({ job: 'spin', limit: 2 });
    expect(first.jobs).toHaveLength(2);
    expect(first.next).not.toBeNull();
  });

  it('cancel() stops a running job; its result() then throws RingpoolJobError, and a second cancel is a 409', async () => {
    const handle = await client.submit('spin', forever);
    await expect.poll(async () => (await handle.status()).status, { timeout: 30_000 }).toBe('running');
    expect(await handle.cancel()).toEqual({ id: handle.id, status: 'cancelled' });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingpoolJobError);
    expect(err).toMatchObject({ jobId: handle.id, status: 'cancelled' });
    await expect(handle.cancel()).rejects.toMatchObject({ name: 'RingpoolApiError', status: 409, code: 'CONFLICT' });
  });

  it('retry() runs a failed job again; result() threw the job\'s error before and gives the result after', async () => {
    const failing = join(gates, 'failing');
    writeFileSync(failing, '');
    const handle = await client.submit('flaky', { tasks: 2, failAt: 1, failWhile: failing }, { retries: 0 });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingpoolJobError);
    expect(err).toMatchObject({ jobId: handle.id, status: 'failed', error: { message: expect.stringMatching(/task 1 exploded/) } });
    expect((err as Error).message).toMatch(new RegExp(`^job ${handle.id} failed: \\[\\w+\\] .*task 1 exploded`));
    rmSync(failing);
    expect(await handle.retry()).toEqual({ id: handle.id, status: 'queued' });
    expect(await handle.result()).toEqual({ sum: 2, count: 2 });
  });
});

describe('errors', () => {
  it('an unknown job type is a RingpoolApiError with code UNKNOWN_JOB_TYPE and status 400; an unknown id NOT_FOUND 404', async () => {
    const err = await client.submit('no-such-job', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingpoolApiError);
    expect(err).toMatchObject({ status: 400, code: 'UNKNOWN_JOB_TYPE', message: expect.stringMatching(/^unknown job type "no-such-job"; known types: .*primes/) });
    await expect(client.jobs.get('m3x9k2p1-0a1b2c3d4e')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND', message: 'no job with id m3x9k2p1-0a1b2c3d4e (it may have expired)' });
    await expect(client.workers.drain('no-such-node')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('bad input is a 400 BAD_INPUT naming the field, with the issues in details', async () => {
    const err = (await client.submit('primes', { from: 0, to: 'ten' }).catch((e: unknown) => e)) as RingpoolApiError;
    expect(err).toMatchObject({ status: 400, code: 'BAD_INPUT', message: expect.stringMatching(/^input\.to: /) });
    expect(err.details).toMatchObject({ issues: [expect.objectContaining({ path: ['to'] })] });
  });

  it('without a token, a server with tokens answers 401 UNAUTHORIZED', async () => {
    const anonymous = createClient({ url: node.url });
    await expect(anonymous.jobTypes()).rejects.toMatchObject({ name: 'RingpoolApiError', status: 401, code: 'UNAUTHORIZED', message: expect.stringMatching(/requires an API token/) });
    expect((await client.jobTypes()).map((t) => t.name)).toEqual(expect.arrayContaining(['primes', 'mandelbrot', 'spin']));
  });

  it('a URL where nothing listens is a RingpoolNetworkError saying it could not be reached', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const err = await createClient({ url }).cluster().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RingpoolNetworkError);
    expect((err as Error).message).toMatch(new RegExp(`^cannot reach ringpool at ${url} \\(.*ECONNREFUSED`));
  });

  it('a bad option is a CONFIG error saying what to fix, before any request', () => {
    expect(() => createClient({ url: 'localhost:3000' })).toThrow(/url must be the API's http\(s\) base URL/);
    expect(() => createClient({ url: node.url, timeoutMs: 0 })).toThrow(/timeoutMs must be an integer number of ms/);
    expect(() => createClient({ url: node.url, retry: { budgetMs: -1 } })).toThrow(/retry\.budgetMs must be an integer >= 0/);
  });
});

describe('429 and Retry-After', () => {
  it('a submission over the quota (429 RATE_LIMITED) is sent again after Retry-After, and goes through once a slot is free', async () => {
    const retries: RetryEvent[] = [];
    let freed: Promise<unknown> | undefined;
    const quota = createClient({
      url: quotaNode.url,
      token: QUOTA_TOKEN,
      retry: {
        onRetry: (e) => {
          retries.push(e);
          freed ??= blocker.cancel(); // the one job in flight ends: the next try is admitted
        },
      },
    });
    const blocker = await quota.submit('spin', forever);
    const second = await quota.submit('spin', { tasks: 1, ms: 0 });
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toMatchObject({ request: `POST ${quotaNode.url}/v1/jobs`, retry: 1, error: { status: 429, code: 'RATE_LIMITED' } });
    expect(retries[0]!.error.retryAfterSec).toBeGreaterThanOrEqual(1);
    expect(retries[0]!.delayMs).toBe(retries[0]!.error.retryAfterSec! * 1000);
    await freed;
    expect(await second.result()).toBe(1);
  }, 60_000);

  it('with retries off, the 429 is thrown with its Retry-After', async () => {
    const quota = createClient({ url: quotaNode.url, token: QUOTA_TOKEN, retry: false });
    const blocker = await quota.submit('spin', forever);
    try {
      const err = await quota.submit('spin', { tasks: 1, ms: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RingpoolApiError);
      expect(err).toMatchObject({ status: 429, code: 'RATE_LIMITED', message: expect.stringMatching(/the limit \(maxJobsInFlight\) is 1/) });
      expect((err as RingpoolApiError).retryAfterSec).toBeGreaterThanOrEqual(1);
    } finally {
      await blocker.cancel();
    }
  });
});

describe('503 REDIS_UNAVAILABLE (a node whose Redis is down)', () => {
  let dir: string;
  let redis: LocalRedis | undefined;
  let port: number | undefined;
  let down: TestNode | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringpool-client-redis-'));
    redis = await startLocalRedis({ dir });
    port = redis.port;
    down = await startTestNode({ redisUrl: redis.url }, 'client-redisdown');
  });
  afterAll(async () => {
    // A node closes cleanly only with its Redis up.
    if (redis === undefined && port !== undefined) redis = await startLocalRedis({ dir, port }).catch(() => undefined);
    await down?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a read and a submission (the API says it changed nothing) are each asked again after Retry-After, then the 503 is thrown', async () => {
    const n = down as TestNode;
    const before = await createClient({ url: n.url }).submit('spin', { tasks: 1, ms: 0 });
    await (redis as LocalRedis).stop();
    redis = undefined;
    const retries: RetryEvent[] = [];
    // A budget of one Retry-After (2 s): one retry, then the error.
    const patient = createClient({ url: n.url, retry: { budgetMs: 2_000, onRetry: (e) => retries.push(e) } });
    for (const call of [() => patient.jobs.get(before.id), () => patient.submit('spin', { tasks: 1, ms: 0 })]) {
      retries.length = 0;
      const err = await call().catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'RingpoolApiError', status: 503, code: 'REDIS_UNAVAILABLE', retryAfterSec: 2 });
      expect(retries.map((r) => [r.retry, r.delayMs, r.error.code])).toEqual([[1, 2_000, 'REDIS_UNAVAILABLE']]);
    }
  }, 60_000);
});

describe('abort and timeout', () => {
  it('an AbortSignal ends a long poll at once, long before the server\'s wait would', async () => {
    const handle = await client.submit('spin', forever);
    const sent: string[] = [];
    // fetch passed through, to see when the long poll is on the wire.
    const watched = createClient({ url: node.url, token: TOKEN, fetch: async (input, init) => (sent.push(String(input)), await fetch(input, init)) });
    const abort = new AbortController();
    const polling = watched.job(handle.id).result({ signal: abort.signal, waitMs: 30_000 });
    await expect.poll(() => sent.some((u) => u.includes('/result?wait=30000'))).toBe(true);
    abort.abort();
    // The test's own timeout (20 s) is shorter than the 30 s wait: an abort that did not end the poll fails it.
    await expect(polling).rejects.toMatchObject({ name: 'AbortError' });
    expect((await handle.status()).status).not.toMatch(/completed|failed|cancelled/);
    await handle.cancel();
  }, 20_000);

  it('an AbortSignal ends an event stream', async () => {
    const handle = await client.submit('spin', forever);
    const abort = new AbortController();
    const events: JobEvent[] = [];
    const err = await (async () => {
      for await (const e of handle.events({ signal: abort.signal })) {
        events.push(e);
        abort.abort();
      }
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError' });
    expect(events).toHaveLength(1);
    await handle.cancel();
  }, 20_000);

  describe('against a host that takes connections and never answers', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    let url: string;
    beforeAll(async () => {
      silent = createServer((s) => sockets.push(s));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('the client\'s timeoutMs, or a call\'s, ends the request with a RingpoolTimeoutError', async () => {
      const err = await createClient({ url, timeoutMs: 200 }).cluster().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RingpoolTimeoutError);
      expect(err).toMatchObject({ timeoutMs: 200, message: `GET ${url}/v1/cluster had no answer within 200 ms; raise timeoutMs if the server is just slow` });
      const perCall = await createClient({ url }).jobs.get('m3x9k2p1-0a1b2c3d4e', { timeoutMs: 150 }).catch((e: unknown) => e);
      expect(perCall).toMatchObject({ name: 'RingpoolTimeoutError', timeoutMs: 150 });
    });
  });
});

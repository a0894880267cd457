// Each route module of createApi through app.request() (no socket): its routes answer, and a bad request gets its 4xx with what to fix.
// The api runs over a real store on the test Redis; a scheduler and a worker of the same prefix run the jobs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApi } from '../../src/api/app.js';
import { requiredScope } from '../../src/api/auth.js';
import { Metrics } from '../../src/observability/metrics.js';
import { JobEvents } from '../../src/store/job-events.js';
import { createKeys } from '../../src/store/keys.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

let node: TestNode;
let subscriber: Redis;
let jobEvents: JobEvents;
let metrics: Metrics;
let app: Hono;
/** Holds the files that jobs waiting on `until` wait for. */
const gates = mkdtempSync(join(tmpdir(), 'ringpool-api-routes-'));

async function call(target: Hono, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const init = body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) };
  const res = await target.request(path, init);
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    headers: res.headers,
    body: type.includes('json') ? await res.json() : type.startsWith('image/') ? Buffer.from(await res.arrayBuffer()) : await res.text(),
  };
}

const get = (path: string) => call(app, 'GET', path);
const post = (path: string, body?: unknown) => call(app, 'POST', path, body);

/** Polls GET /v1/jobs/:id until the job's status matches. */
async function untilStatus(id: string, wanted: RegExp, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await get(`/v1/jobs/${id}`);
    if (wanted.test(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status} after ${timeoutMs} ms, waiting for ${wanted}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A job that completed, one that failed, and one that runs until its gate file exists. */
const jobs = { completed: '', failed: '', running: '' };

beforeAll(async () => {
  node = await startTestNode({}, 'routes', { api: false, scheduler: true, worker: true });
  subscriber = new Redis(inject('redisUrl'));
  jobEvents = new JobEvents(subscriber, createKeys(node.prefix));
  await jobEvents.start();
  metrics = new Metrics();
  app = createApi({ store: node.store, registry: node.registry, jobEvents, metrics, clusterView: async () => ({ leaderId: 'sched-1', workers: [] }) });

  jobs.completed = (await post('/v1/jobs', { job: 'primes', input: { from: 0, to: 100 } })).body.id;
  jobs.failed = (await post('/v1/jobs', { job: 'which-thread', input: { tasks: [{ ms: 0 }], reduce: 'throw' } })).body.id;
  jobs.running = (await post('/v1/jobs', { job: 'spin', input: { tasks: 1, ms: 0, until: join(gates, 'never') } })).body.id;
  await untilStatus(jobs.completed, /^completed$/);
  await untilStatus(jobs.failed, /^failed$/);
  await untilStatus(jobs.running, /^running$/);
}, 120_000);

afterAll(async () => {
  // The tasks still waiting end, so the worker's close need not wait for them.
  writeFileSync(join(gates, 'never'), '');
  await jobEvents?.close();
  subscriber?.disconnect();
  await node?.close();
  rmSync(gates, { recursive: true, force: true });
});

describe('the mounted routes', () => {
  it('are the same paths and methods as before, each with the scope auth.ts gives it', () => {
    const routes = app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path} ${requiredScope(r.method, r.path.replace(/:[a-z]+/g, 'x'))}`);
    expect(routes.sort()).toEqual(
      [
        'GET /healthz open',
        'GET /readyz open',
        'GET /metrics read',
        'GET /v1/job-types read',
        'POST /v1/job-types admin',
        'GET /v1/job-types/:name/versions read',
        'POST /v1/job-types/:name/versions/:version/activate admin',
        'DELETE /v1/job-types/:name/versions/:version admin',
        'POST /v1/jobs submit',
        'GET /v1/jobs read',
        'GET /v1/jobs/:id read',
        'DELETE /v1/jobs/:id submit',
        'POST /v1/jobs/:id/retry submit',
        'GET /v1/jobs/:id/result read',
        'GET /v1/jobs/:id/events read',
        'GET /v1/jobs/:id/logs read',
        'POST /v1/workers/:id/drain admin',
        'POST /v1/schedules submit',
        'GET /v1/schedules read',
        'GET /v1/schedules/:id read',
        'POST /v1/schedules/:id/pause submit',
        'POST /v1/schedules/:id/resume submit',
        'DELETE /v1/schedules/:id submit',
        'GET /v1/cluster read',
        'GET /v1/openapi.json read',
        'GET /docs open',
        'GET /docs/assets/:name open',
      ].sort(),
    );
  });

  it('a route no module serves is 404 naming it', async () => {
    const res = await call(app, 'PUT', '/v1/jobs');
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual({ code: 'NOT_FOUND', message: 'no route PUT /v1/jobs; the API lives under /v1' });
  });
});

describe('health: /healthz, /readyz, /metrics', () => {
  it('/healthz and /readyz answer; /readyz pings the store without a readiness check', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('/readyz is 503 naming the connection that does not answer', async () => {
    const readiness = () => ({ ready: false, connections: [{ name: 'api', status: 'reconnecting', healthy: false, unhealthyForMs: 3000 }] });
    const res = await call(createApi({ store: node.store, registry: node.registry, readiness }), 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'REDIS_UNAVAILABLE', message: 'Redis is unreachable on api (reconnecting, 3 s)' });
  });

  it('/metrics counts requests by route pattern; without metrics it is 404', async () => {
    await get(`/v1/jobs/${jobs.completed}`);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/ringpool_http_requests_total\{method="GET",route="\/v1\/jobs\/:id",status="200"\} [1-9]/);
    const without = await call(createApi({ store: node.store, registry: node.registry }), 'GET', '/metrics');
    expect(without.status).toBe(404);
    expect(without.body.error).toEqual({ code: 'NOT_FOUND', message: 'metrics are not enabled on this node' });
  });
});

describe('job types: GET /v1/job-types', () => {
  it('lists the registry\'s types', async () => {
    const { status, body } = await get('/v1/job-types');
    expect(status).toBe(200);
    const names = (body.jobTypes as Array<{ name: string }>).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['primes', 'spin', 'which-thread', 'mandelbrot']));
  });
});

describe('submit: POST /v1/jobs', () => {
  it('answers 202 with the id and links at once', async () => {
    const { status, body } = await post('/v1/jobs', { job: 'primes', input: { from: 0, to: 10 } });
    expect(status).toBe(202);
    expect(body).toEqual({ id: expect.any(String), status: 'queued', links: { self: `/v1/jobs/${body.id}`, result: `/v1/jobs/${body.id}/result`, events: `/v1/jobs/${body.id}/events` } });
    expect((await get(`/v1/jobs/${body.id}`)).body).toMatchObject({ job: 'primes', input: { from: 0, to: 10 } });
  });

  it('with ?wait=MS answers 200 with the result once the job ends', async () => {
    const { status, body } = await post('/v1/jobs?wait=20000', { job: 'primes', input: { from: 0, to: 1000 } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'completed', result: 168 });
  });

  it('merges the submitted options with the type\'s defaults', async () => {
    const { body } = await post('/v1/jobs', { job: 'primes', input: { from: 0, to: 10 }, options: { retries: 7 } });
    const record = (await get(`/v1/jobs/${body.id}`)).body;
    expect(record.options).toMatchObject({ retries: 7 });
    expect(Object.keys(record.options).length).toBeGreaterThan(1);
  });

  it('refuses an unknown type, bad input, a bad wait and a non-JSON body with what to fix', async () => {
    expect(await post('/v1/jobs', { job: 'nope', input: {} })).toMatchObject({ status: 400, body: { error: { code: 'UNKNOWN_JOB_TYPE', message: expect.stringMatching(/^unknown job type "nope"; known types: .*primes/) } } });
    expect(await post('/v1/jobs', { job: 'primes', input: { from: 0, to: 'ten' } })).toMatchObject({ status: 400, body: { error: { code: 'BAD_INPUT', message: expect.stringMatching(/^input\.to: /) } } });
    expect(await post('/v1/jobs', { job: 'primes', input: {}, extra: 1 })).toMatchObject({ status: 400, body: { error: { code: 'BAD_INPUT', message: expect.stringMatching(/extra/) } } });
    expect(await post('/v1/jobs?wait=soon', { job: 'primes', input: { from: 0, to: 10 } })).toMatchObject({ status: 400, body: { error: { code: 'BAD_INPUT', message: expect.stringMatching(/^query\.wait: /) } } });
    const form = await app.request('/v1/jobs', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'primes' });
    expect(form.status).toBe(415);
    expect(((await form.json()) as any).error.message).toMatch(/Content-Type: application\/json/);
  });

  it('refuses a job over the principal\'s quota with 429 and Retry-After, and creates nothing', async () => {
    const tight = createApi({ store: node.store, registry: node.registry }, { maxJobsInFlight: 1, apiTokens: ['routes-quota-token-0123456'] });
    const submit = () => tight.request('/v1/jobs', { method: 'POST', headers: { authorization: 'Bearer routes-quota-token-0123456', 'content-type': 'application/json' }, body: JSON.stringify({ job: 'spin', input: { tasks: 1, ms: 0, until: join(gates, 'quota') } }) });
    const first = await submit();
    expect(first.status).toBe(202);
    const before = (await get('/v1/jobs?job=spin&limit=500')).body.jobs.length;
    const second = await submit();
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('5');
    expect(((await second.json()) as any).error.message).toMatch(/already has 1 jobs queued or running, the limit \(maxJobsInFlight\) is 1/);
    expect((await get('/v1/jobs?job=spin&limit=500')).body.jobs.length).toBe(before);
    writeFileSync(join(gates, 'quota'), '');
  });
});

describe('jobs: list, read, cancel, retry', () => {
  it('lists and searches jobs; a bad query names the parameter', async () => {
    const list = await get('/v1/jobs?job=primes&status=completed&limit=500');
    expect(list.status).toBe(200);
    expect(list.body.jobs.map((j: { id: string }) => j.id)).toContain(jobs.completed);
    expect(list.body.jobs.every((j: { job: string; status: string }) => j.job === 'primes' && j.status === 'completed')).toBe(true);
    const found = await get(`/v1/jobs?q=${jobs.completed.slice(0, 14)}`);
    expect(found.body.jobs.map((j: { id: string }) => j.id)).toEqual([jobs.completed]);
    expect(await get('/v1/jobs?limit=0')).toMatchObject({ status: 400, body: { error: { code: 'BAD_INPUT', message: expect.stringMatching(/^query\.limit: /) } } });
  });

  it('reads a job, with its task errors when it failed; a malformed or unknown id is 404', async () => {
    const done = await get(`/v1/jobs/${jobs.completed}`);
    expect(done.body).toMatchObject({ id: jobs.completed, job: 'primes', status: 'completed', taskErrors: [], links: { self: `/v1/jobs/${jobs.completed}` } });
    const failed = await get(`/v1/jobs/${jobs.failed}`);
    expect(failed.body).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/reduce broke on purpose/) } });
    expect(await get('/v1/jobs/nope')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: expect.stringMatching(/^"nope" is not a job id/) } } });
    expect(await get('/v1/jobs/m3x9k2p1-0a1b2c3d4e')).toMatchObject({ status: 404, body: { error: { message: 'no job with id m3x9k2p1-0a1b2c3d4e (it may have expired)' } } });
  });

  it('cancels a running job; cancelling an ended one is 409', async () => {
    const { body } = await post('/v1/jobs', { job: 'spin', input: { tasks: 1, ms: 0, until: join(gates, 'never') } });
    expect(await call(app, 'DELETE', `/v1/jobs/${body.id}`)).toMatchObject({ status: 200, body: { id: body.id, status: 'cancelled' } });
    expect((await get(`/v1/jobs/${body.id}`)).body.status).toBe('cancelled');
    const again = await call(app, 'DELETE', `/v1/jobs/${jobs.completed}`);
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT', message: `job ${jobs.completed} has already ended (completed); only a queued or running job can be cancelled` } } });
  });

  it('retries a failed job; retrying another is 409', async () => {
    const retried = await post(`/v1/jobs/${jobs.failed}/retry`);
    expect(retried).toMatchObject({ status: 202, body: { id: jobs.failed, status: 'queued' } });
    await untilStatus(jobs.failed, /^failed$/);
    const done = await post(`/v1/jobs/${jobs.completed}/retry`);
    expect(done).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT', message: `job ${jobs.completed} is completed; only a failed job can be retried` } } });
  });
});

describe('result: GET /v1/jobs/:id/result', () => {
  it('serves a completed job\'s result, JSON or image', async () => {
    expect(await get(`/v1/jobs/${jobs.completed}/result`)).toMatchObject({ status: 200, body: { id: jobs.completed, result: 25 } });
    const { body } = await post('/v1/jobs?wait=20000', { job: 'mandelbrot', input: { width: 8, height: 4, maxIter: 10, rowsPerTask: 4 } });
    expect(body.status).toBe('completed');
    const image = await get(body.links.result);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect((image.body as Buffer).subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('long-polls with ?wait=MS until the job ends', async () => {
    const gate = join(gates, 'poll');
    const { body } = await post('/v1/jobs', { job: 'spin', input: { tasks: 2, ms: 0, until: gate } });
    const answer = get(`/v1/jobs/${body.id}/result?wait=20000`);
    await untilStatus(body.id, /^running$/);
    writeFileSync(gate, '');
    expect(await answer).toMatchObject({ status: 200, body: { id: body.id, result: 2 } });
  });

  it('is 409 saying why for a job that failed or is still running', async () => {
    const failed = await get(`/v1/jobs/${jobs.failed}/result`);
    expect(failed).toMatchObject({ status: 409, body: { error: { code: 'NOT_FINISHED', message: expect.stringMatching(/^job \S+ failed and has no result: .*reduce broke on purpose/) } } });
    const running = await get(`/v1/jobs/${jobs.running}/result`);
    expect(running).toMatchObject({ status: 409, body: { error: { code: 'NOT_FINISHED', message: `job ${jobs.running} is running; its result is ready once it is completed`, details: { status: 'running' } } } });
  });
});

describe('events: GET /v1/jobs/:id/events', () => {
  it('streams an ended job\'s progress, then its end', async () => {
    const res = await app.request(`/v1/jobs/${jobs.completed}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    expect(text).toMatch(/^event: progress\ndata: \{"id":"[^"]+","status":"completed",/);
    expect(text).toContain(`event: end\ndata: {"id":"${jobs.completed}","status":"completed"}`);
  });

  it('is 404 for an unknown job, before any stream starts', async () => {
    const res = await get('/v1/jobs/m3x9k2p1-0a1b2c3d4e/events');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});

describe('cluster: GET /v1/cluster', () => {
  it('shows the cluster view, or an empty object without one', async () => {
    expect(await get('/v1/cluster')).toMatchObject({ status: 200, body: { leaderId: 'sched-1', workers: [] } });
    expect(await call(createApi({ store: node.store, registry: node.registry }), 'GET', '/v1/cluster')).toMatchObject({ status: 200, body: {} });
  });
});

// Last: draining takes this file's only worker out of service (the node also runs a scheduler, so it does not exit).
describe('workers: POST /v1/workers/:id/drain', () => {
  it('is 404 for a node that is not registered, naming it', async () => {
    const res = await post('/v1/workers/no-such-node/drain');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'no worker node "no-such-node"; see GET /v1/cluster for the nodes' } } });
  });

  it('asks a registered node to drain', async () => {
    expect(await post('/v1/workers/w-routes/drain')).toMatchObject({ status: 202, body: { id: 'w-routes', draining: true } });
  });
});

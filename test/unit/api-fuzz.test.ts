// Fuzzes every API route (fast-check): random methods, paths, headers and bodies never get a 5xx or crash, and a rejected request writes nothing to Redis.
// It needs Redis, so it runs its own redis-server on a free port (Redis's write counter must see this test's writes only).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Hono } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/app.js';
import { BUILTIN_JOBS_DIR } from '../../src/config/config.js';
import { createClusterView } from '../../src/node/cluster-view.js';
import { openRedis } from '../../src/node/redis-connections.js';
import { Metrics } from '../../src/observability/metrics.js';
import { loadJobRegistry, type JobRegistry } from '../../src/registry/job-registry.js';
import { folderResolver } from '../../src/registry/live-registry.js';
import { JobStore } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { JobEvents } from '../../src/store/job-events.js';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.js';
import { FIXTURE_JOBS } from '../helpers/cluster.js';
import { completeJob } from '../helpers/store-helpers.js';

/** Cases per property; together at least 5,000 (`npm test` prints the counts). */
const RUNS = { routes: 3_000, tokens: 2_200, submissions: 2_300 } as const;
const MIN_CASES = 5_000;

const TOKENS = {
  all: 'fuzz-all-token-0123456789',
  read: 'fuzz-read-token-0123456789',
  submit: 'fuzz-submit-token-0123456',
  admin: 'fuzz-admin-token-012345678',
} as const;

let dir: string;
let server: LocalRedis;
let redis: Redis;
let observer: Redis;
let subscriber: Redis;
let store: JobStore;
let registry: JobRegistry;
let cluster: ReturnType<typeof createClusterView>;
let openApp: Hono;
let tokenApp: Hono;
/** Ids of real jobs in every state, so the routes that find a job go past the lookup. */
const jobIds: string[] = [];

const tally = {
  cases: 0,
  /** Requests the test could not even build (the URL or a header is not valid to `Request`). */
  unsendable: 0,
  byStatus: new Map<number, number>(),
  rejected: 0,
  /** Rejected requests after which Redis had been written to (must stay 0). */
  rejectedWithWrites: 0,
  accepted: 0,
  jobsCreated: 0,
  perProperty: new Map<string, number>(),
};
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

beforeAll(async () => {
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
  dir = mkdtempSync(join(tmpdir(), 'ringpool-api-fuzz-'));
  server = await startLocalRedis({ dir });
  // The API's connection as a node opens it (fail fast), and a separate one to observe Redis.
  redis = openRedis({ url: server.url }, 'api', 'fuzz-api');
  observer = new Redis(server.url);
  store = new JobStore(redis, createKeys('fuzz'));
  registry = await loadJobRegistry([BUILTIN_JOBS_DIR, FIXTURE_JOBS]);
  const metrics = new Metrics();
  cluster = createClusterView({ store, leaseMs: 3000, metrics });
  subscriber = openRedis({ url: server.url }, 'blocking', 'fuzz-events');
  const jobEvents = new JobEvents(subscriber, store.keys);
  await jobEvents.start();
  const deps = { store, registry: folderResolver(registry), metrics, clusterView: cluster.view, refreshMetrics: cluster.refreshMetrics, jobEvents };
  openApp = createApi(deps, { bodyLimitBytes: 64 * 1024, eventsPollMs: 5, maxJobsInFlight: 100_000 });
  tokenApp = createApi(deps, {
    apiTokens: [TOKENS.all, `${TOKENS.read}:read`, `${TOKENS.submit}:submit`, `${TOKENS.admin}:admin`],
    eventsPollMs: 5,
    // Small, so that submissions reach it and 429s are fuzzed too (no scheduler runs: jobs stay queued).
    maxJobsInFlight: 5,
  });

  // Jobs in each state: queued, cancelled, failed, completed with a result.
  for (let i = 0; i < 4; i++) {
    const res = await openApp.request('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'spin', input: { tasks: 1, ms: 0 } }) });
    expect(res.status).toBe(202);
    jobIds.push(((await res.json()) as { id: string }).id);
  }
  const [, cancelled, failed, completed] = jobIds as [string, string, string, string];
  expect(await store.cancelJob(cancelled)).toBe('cancelled');
  expect(await store.failJob(failed, 1, { code: 'TASK_FAILED', message: 'boom' })).toBe('failed');
  expect((await store.startJob(completed, 1)).status).toBe('running');
  expect(await completeJob(store, completed, 1, { type: 'json', value: { answer: 42 } }, 3600)).toBe('completed');
});

afterAll(async () => {
  const serverErrors = [...tally.byStatus].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
  console.log(
    `[api-fuzz] ${tally.cases} cases (${[...tally.perProperty].map(([k, v]) => `${k} ${v}`).join(', ')}): ` +
      `${tally.rejected} rejected (4xx), ${tally.rejectedWithWrites} of them with a write to Redis; ${tally.accepted} accepted (2xx), of which ${tally.jobsCreated} created a job; ` +
      `${serverErrors} 5xx, ${crashes.length} crashes; ${tally.unsendable} unsendable; by status ${JSON.stringify(Object.fromEntries([...tally.byStatus].sort(([a], [b]) => a - b)))}`,
  );
  process.off('unhandledRejection', onCrash);
  process.off('uncaughtException', onCrash);
  // Let cancelled event streams notice and stop polling before their connection goes.
  await new Promise((r) => setTimeout(r, 50));
  await cluster?.close();
  redis?.disconnect();
  observer?.disconnect();
  subscriber?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// ---- what a request is made of ----------------------------------------------------------

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string | Uint8Array | undefined;
}

/** Characters a header value may hold (printable Latin-1: `Request` refuses control characters). */
const LATIN1 = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));

const METHODS = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE') },
  { weight: 3, arbitrary: fc.constantFrom('HEAD', 'PUT', 'PATCH', 'OPTIONS', 'get', 'Post') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z][A-Z-]{0,11}$/).filter((m) => !['CONNECT', 'TRACE', 'TRACK'].includes(m)) },
);

const WELL_FORMED_ID = fc.stringMatching(/^[0-9a-z]{8,12}-[0-9a-f]{10}$/);
const ID = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...Array.from({ length: 4 }, (_, i) => i)).map((i) => jobIds[i] as string) },
  { weight: 2, arbitrary: WELL_FORMED_ID },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('..', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%00', '%ZZ', '%', '%E2%82', '🙂', 'a'.repeat(5000), '__proto__', 'constructor', '*', '%20', 'null', '-1', '1e309'),
  },
);

const ROUTE_TEMPLATES = [
  '/healthz', '/readyz', '/metrics', '/v1/job-types', '/v1/jobs', '/v1/jobs/:id', '/v1/jobs/:id/result', '/v1/jobs/:id/events',
  '/v1/jobs/:id/retry', '/v1/cluster', '/v1/workers/:id/drain', '/', '/v1', '/v1/', '/v1/jobs/', '/v2/jobs', '/ui/app.js', '//v1//jobs', '/V1/JOBS',
];

const QUERY_VALUE = fc.oneof(
  fc.constantFrom('', '0', '1', '-1', '20', '500', '501', '1e3', '1e309', 'NaN', 'Infinity', '9007199254740993', 'queued', 'running', 'failed', 'primes', 'spin', '%ZZ', '%00', 'a%2Fb', '__proto__'),
  fc.string({ unit: 'binary', maxLength: 30 }).map(encodeURIComponent),
  fc.integer().map(String),
);
const QUERY = fc
  .array(fc.tuple(fc.constantFrom('status', 'job', 'limit', 'cursor', 'q', 'token', 'wait', 'x', '__proto__', 'constructor', 'limit[]', ''), QUERY_VALUE), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

const PATH = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...ROUTE_TEMPLATES), ID, QUERY).map(([t, id, q]) => t.replace(':id', id) + q) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }).map(encodeURIComponent), fc.constantFrom('v1', 'jobs', '..', '.', '%2F')), { maxLength: 6 }).map((s) => `/${s.join('/')}`) },
);

const HEADER_VALUE = fc.string({ unit: LATIN1, maxLength: 60 });

const CONTENT_TYPE = fc.constantFrom(
  'application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/jsonx', 'application/json-patch+json',
  'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', '*/*',
);

function authHeader(tokenish: fc.Arbitrary<string>) {
  return fc.oneof(
    { weight: 4, arbitrary: tokenish.map((t) => `Bearer ${t}`) },
    { weight: 1, arbitrary: tokenish.map((t) => `bearer   ${t}`) },
    { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Token abc', `Bearer ${TOKENS.all} extra`, '') },
    { weight: 1, arbitrary: HEADER_VALUE },
  );
}

const TOKENISH = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...Object.values(TOKENS)) },
  { weight: 1, arbitrary: fc.constantFrom(`${TOKENS.read}:read`, TOKENS.all.slice(0, -1), `${TOKENS.admin}x`, TOKENS.all.toUpperCase()) },
  { weight: 1, arbitrary: fc.string({ unit: LATIN1, minLength: 1, maxLength: 40 }).filter((s) => !/\s/.test(s)) },
);

function headersArb(withTokens: boolean) {
  return fc
    .record(
      {
        contentType: CONTENT_TYPE,
        authorization: authHeader(withTokens ? TOKENISH : fc.string({ unit: LATIN1, maxLength: 20 })),
        extra: fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), HEADER_VALUE), { maxLength: 3 }),
        accept: fc.constantFrom('application/json', 'text/event-stream', '*/*', 'image/png'),
      },
      { requiredKeys: ['extra'] },
    )
    .map(({ contentType, authorization, extra, accept }) => {
      const h: Array<readonly [string, string]> = [...extra];
      if (contentType !== undefined) h.push(['content-type', contentType]);
      if (authorization !== undefined) h.push(['authorization', authorization]);
      if (accept !== undefined) h.push(['accept', accept]);
      return h;
    });
}

// ---- bodies ----------------------------------------------------------------------------

const KEY = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'job', 'input', 'options', 'tasks', 'ms', 'from', 'to', 'text', 'retries', 'then') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);

/** JSON values with hostile keys: built as text, so a `__proto__` key really is in the body. */
const JSON_TEXT: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('null', 'true', 'false', '0', '-0', '1e309', '-1e-400', '123456789012345678901234567890', '"\\ud800"', '"\\u0000"', '""'),
    fc.double().map((d) => (Number.isFinite(d) ? JSON.stringify(d) : '0')),
    fc.integer().map(String),
    fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => JSON.stringify(s)),
    fc.string({ unit: 'binary', maxLength: 20 }).map((s) => JSON.stringify(s)),
    fc.array(tie('value'), { maxLength: 4 }).map((a) => `[${a.join(',')}]`),
    fc.array(fc.tuple(KEY, tie('value')), { maxLength: 4 }).map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;

const JOB_NAME = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('spin', 'flaky', 'primes', 'pi', 'wordcount', 'mandelbrot', 'hog') },
  { weight: 2, arbitrary: fc.constantFrom('', 'nope', 'SPIN', 'spin ', '../jobs/primes', '/etc/passwd', '__proto__', 'constructor', 'toString', 'spin\u0000', 'x'.repeat(101)) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
);

/** Inputs that some job accepts, and near misses. */
const VALID_INPUT = fc.oneof(
  fc.record({ tasks: fc.integer({ min: 0, max: 3 }), ms: fc.integer({ min: 0, max: 5 }) }).map((v) => ({ job: 'spin', input: v })),
  fc.record({ tasks: fc.integer({ min: 1, max: 3 }) }).map((v) => ({ job: 'flaky', input: v })),
  fc.record({ from: fc.integer({ min: 0, max: 1000 }), span: fc.integer({ min: 0, max: 1000 }) }).map(({ from, span }) => ({ job: 'primes', input: { from, to: from + span } })),
  fc.string({ unit: 'grapheme', maxLength: 200 }).map((text) => ({ job: 'wordcount', input: { text } })),
  fc.constant({ job: 'pi', input: {} }),
);

const OPTIONS = fc.oneof(
  fc.constant(undefined),
  fc.record({ retries: fc.integer({ min: -2, max: 102 }), taskTimeoutMs: fc.integer({ min: 0, max: 100_000 }), batchSize: fc.integer({ min: -1, max: 20_000 }) }, { requiredKeys: [] }),
  fc.constantFrom({ retries: '2' }, { nope: 1 }, [], null, 'fast'),
);

const ENVELOPE_TEXT = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(VALID_INPUT, OPTIONS).map(([v, options]) => JSON.stringify(options === undefined ? v : { ...v, options })) },
  { weight: 4, arbitrary: fc.tuple(JOB_NAME, JSON_TEXT, fc.option(JSON_TEXT, { nil: undefined })).map(([job, input, options]) => `{"job":${JSON.stringify(job)},"input":${input}${options === undefined ? '' : `,"options":${options}`}}`) },
  { weight: 1, arbitrary: fc.tuple(VALID_INPUT, KEY, JSON_TEXT).map(([v, k, x]) => `{"job":${JSON.stringify(v.job)},"input":${JSON.stringify(v.input).replace(/^\{/, `{${JSON.stringify(k)}:${x},`).replace(/,\}$/, '}')}}`) },
);

const PROTO_POLLUTION = fc.constantFrom(
  '{"__proto__":{"polluted":true}}',
  '{"job":"spin","input":{"tasks":1,"ms":0,"__proto__":{"polluted":true}}}',
  '{"job":"spin","input":{"tasks":1,"ms":0},"options":{"__proto__":{"retries":99}}}',
  '{"job":"spin","input":{"tasks":1,"ms":0,"constructor":{"prototype":{"polluted":true}}}}',
  '{"job":"wordcount","input":{"text":"a","constructor":{"prototype":{"polluted":true}}}}',
  '{"job":"spin","input":{"tasks":1,"ms":0},"constructor":{"prototype":{"polluted":true}}}',
  '{"job":"__proto__","input":{"polluted":true}}',
  '[{"__proto__":{"polluted":true}}]',
  '{"job":"spin","input":{"tasks":1,"ms":0,"__pro\\u0074o__":{"polluted":true}}}',
);

const DEEP = fc.tuple(fc.integer({ min: 1, max: 60_000 }), fc.constantFrom('array', 'object', 'input')).map(([n, kind]) => {
  if (kind === 'array') return '['.repeat(n) + ']'.repeat(n);
  if (kind === 'object') return '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  return `{"job":"wordcount","input":${'{"text":'.repeat(n)}"x"${'}'.repeat(n)}}`;
});

const HUGE = fc.tuple(fc.integer({ min: 1_000, max: 300_000 }), fc.constantFrom('x', 'é', '🙂', '\\u0000', '"')).map(([n, ch]) =>
  ch === '"' ? `{"job":"wordcount","input":{"text":"${'\\"'.repeat(n)}"}}` : `{"job":"wordcount","input":{"text":"${ch.repeat(n)}"}}`,
);

const BODY = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: ENVELOPE_TEXT },
  { weight: 3, arbitrary: JSON_TEXT },
  { weight: 1, arbitrary: PROTO_POLLUTION },
  { weight: 1, arbitrary: DEEP },
  { weight: 1, arbitrary: HUGE },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '{', '{"job":', 'null', '{"job":"spin","input":{"tasks":1,"ms":0}', '{"job":"spin","input":{"tasks":1,"ms":0}}garbage') },
);

function requestArb(withTokens: boolean): fc.Arbitrary<FuzzRequest> {
  return fc.record({ method: METHODS, path: PATH, headers: headersArb(withTokens), body: BODY });
}

// ---- running one case -------------------------------------------------------------------

async function redisState(): Promise<{ writes: number; jobs: number; keys: number }> {
  const replies = (await observer.pipeline().info('persistence').zcard(store.keys.jobs).dbsize().exec()) ?? [];
  const [info, jobs, keys] = replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  }) as [string, number, number];
  const writes = /rdb_changes_since_last_save:(\d+)/.exec(info)?.[1];
  if (writes === undefined) throw new Error('INFO persistence has no rdb_changes_since_last_save');
  return { writes: Number(writes), jobs, keys };
}

function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body.slice(0, 300) : `<${r.body.length} bytes>`;
  return `${r.method} ${r.path.slice(0, 200)} ${JSON.stringify(r.headers).slice(0, 300)} ${body}`;
}

async function exercise(app: Hono, property: string, r: FuzzRequest): Promise<void> {
  let request: Request;
  try {
    const withBody = r.body !== undefined && !['GET', 'HEAD'].includes(r.method.toUpperCase());
    request = new Request(`http://localhost${r.path}`, { method: r.method, headers: r.headers.map(([k, v]) => [k, v]), ...(withBody ? { body: r.body } : {}) });
  } catch {
    tally.unsendable++;
    return;
  }
  const before = await redisState();
  const res = await app.fetch(request); // throws only if the app crashed: the property fails
  const type = res.headers.get('content-type') ?? '';
  let text = '';
  if (type.startsWith('text/event-stream')) await res.body?.cancel();
  else text = await res.text();
  const after = await redisState();

  tally.cases++;
  tally.perProperty.set(property, (tally.perProperty.get(property) ?? 0) + 1);
  tally.byStatus.set(res.status, (tally.byStatus.get(res.status) ?? 0) + 1);
  const what = `${res.status} ${text.slice(0, 300)} for ${describeRequest(r)}`;

  expect(res.status, what).toBeLessThan(500);
  expect(Object.getOwnPropertyNames(Object.prototype).sort().join(','), 'Object.prototype changed').toBe(prototypeKeys);
  expect(({} as Record<string, unknown>).polluted, 'Object.prototype polluted').toBeUndefined();
  const isHead = r.method.toUpperCase() === 'HEAD';
  if (res.status >= 400) {
    tally.rejected++;
    if (!isHead) {
      expect(type, what).toMatch(/^application\/json/);
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      expect(typeof body.error?.code, what).toBe('string');
      expect(typeof body.error?.message, what).toBe('string');
    }
    const wrote = after.jobs !== before.jobs || (res.status === 429 ? after.keys > before.keys : after.writes !== before.writes);
    if (wrote) tally.rejectedWithWrites++;
    expect(after.jobs, `a rejected request changed the job count: ${what}`).toBe(before.jobs);
    if (res.status === 429) {
      // Refusing may prune ended jobs from the token's quota set (removals only): nothing is added.
      expect(after.keys, what).toBeLessThanOrEqual(before.keys);
    } else {
      expect(after.writes, `a rejected request wrote to Redis: ${what}`).toBe(before.writes);
    }
    return;
  }
  tally.accepted++;
  const created = res.status === 202 && type.startsWith('application/json') && (JSON.parse(text) as { links?: unknown }).links !== undefined;
  if (created) {
    tally.jobsCreated++;
    expect(after.jobs, what).toBe(before.jobs + 1);
  } else {
    expect(after.jobs, what).toBe(before.jobs);
  }
}

// ---- the properties ----------------------------------------------------------------------

describe('API fuzzing: never a 5xx, never a crash, a rejected request stores nothing', () => {
  it(`any request to any route of a server without tokens (${RUNS.routes} cases)`, async () => {
    await fc.assert(fc.asyncProperty(requestArb(false), (r) => exercise(openApp, 'routes', r)), { numRuns: RUNS.routes });
  });

  it(`any request to a server with scoped tokens, with any credentials (${RUNS.tokens} cases)`, async () => {
    const query = fc.oneof(fc.constant(''), TOKENISH.map((t) => `token=${encodeURIComponent(t)}`));
    // A quarter are well-formed submissions, so that tokens reach their jobs-in-flight limit (429).
    const submission = fc.record({
      method: fc.constant('POST'),
      path: fc.constant('/v1/jobs'),
      headers: TOKENISH.map((t) => [['content-type', 'application/json'], ['authorization', `Bearer ${t}`]] as Array<readonly [string, string]>),
      body: VALID_INPUT.map((v) => JSON.stringify(v)),
    });
    const request = fc.oneof({ weight: 3, arbitrary: requestArb(true) }, { weight: 1, arbitrary: submission });
    const arb = fc.tuple(request, query, fc.boolean()).map(([r, q, dropHeader]) => ({
      ...r,
      path: q === '' ? r.path : `${r.path}${r.path.includes('?') ? '&' : '?'}${q}`,
      headers: dropHeader ? r.headers.filter(([k]) => k !== 'authorization') : r.headers,
    }));
    await fc.assert(fc.asyncProperty(arb, (r) => exercise(tokenApp, 'tokens', r)), { numRuns: RUNS.tokens });
  });

  it(`POST /v1/jobs with any body (${RUNS.submissions} cases)`, async () => {
    const arb = fc.record({
      method: fc.constant('POST'),
      path: fc.constantFrom('/v1/jobs', '/v1/jobs?x=1'),
      headers: fc.oneof({ weight: 5, arbitrary: fc.constant([['content-type', 'application/json']] as Array<readonly [string, string]>) }, { weight: 1, arbitrary: headersArb(false) }),
      body: fc.oneof({ weight: 5, arbitrary: ENVELOPE_TEXT }, { weight: 1, arbitrary: BODY }, { weight: 1, arbitrary: PROTO_POLLUTION }, { weight: 1, arbitrary: DEEP }),
    });
    await fc.assert(fc.asyncProperty(arb, (r) => exercise(openApp, 'submissions', r)), { numRuns: RUNS.submissions });
  });

  it(`ran at least ${MIN_CASES} cases, with no crash`, () => {
    expect(tally.cases).toBeGreaterThanOrEqual(MIN_CASES);
    expect(tally.unsendable).toBeLessThan(tally.cases / 20);
    expect(crashes).toEqual([]);
    expect(tally.jobsCreated).toBeGreaterThan(0); // valid submissions were generated too
    expect(tally.byStatus.get(429) ?? 0).toBeGreaterThan(0); // and some reached a token's limit
  });
});

// API tokens: each scope allowed and refused where it should be (401 without a valid token, 403 without the scope), never logged.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/app.js';
import { findToken, parseApiTokens, requiredScope, type Access } from '../../src/api/auth.js';
import { Metrics } from '../../src/observability/metrics.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { countJobs } from '../helpers/store-helpers.js';

const SECRET = {
  all: 'all-scopes-token-5f2c9a1e',
  read: 'read-token-0b7d3e9f1a2c',
  submit: 'submit-token-8e1f4a6b2d',
  submitRead: 'submit-read-token-3c9e7f',
  admin: 'admin-token-d41e8a2b6c3f',
} as const;
type Who = keyof typeof SECRET;
const CONFIGURED = [SECRET.all, `${SECRET.read}:read`, `${SECRET.submit}:submit`, `${SECRET.submitRead}:submit+read`, `${SECRET.admin}:admin`];
const GRANTS: Record<Who, ReadonlySet<string>> = {
  all: new Set(['read', 'submit', 'admin']),
  read: new Set(['read']),
  submit: new Set(['submit']),
  submitRead: new Set(['submit', 'read']),
  admin: new Set(['read', 'submit', 'admin']),
};

let node: TestNode;
let doneId: string;
let runningId: string;
/** Holds the file the running job's task waits for, which no one creates: it runs until cancelled. */
const gates = mkdtempSync(join(tmpdir(), 'ringpool-api-auth-'));

function as(who: Who | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return who === undefined ? extra : { authorization: `Bearer ${SECRET[who]}`, ...extra };
}

/** Polls the job until its status matches (a hook cannot use expect.poll). */
async function untilStatus(id: string, wanted: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = (await node.api(`/v1/jobs/${id}`, { headers: as('read') })).body;
    if (wanted.test(status)) return;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${status} after ${timeoutMs} ms, waiting for ${wanted}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  node = await startTestNode({ apiTokens: CONFIGURED }, 'apiauth');
  const done = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 0 } }, headers: as('submit') });
  expect(done.status).toBe(202);
  doneId = done.body.id;
  await untilStatus(doneId, /^(completed|failed|cancelled)$/);
  // Running, and still running when each test compares its status before and after a request
  // (until the DELETE route's allowed callers cancel it): not queued, not ended by a clock.
  const running = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 0, until: join(gates, 'never') } }, headers: as('submit') });
  runningId = running.body.id;
  await untilStatus(runningId, /^running$/);
}, 120_000);
afterAll(async () => {
  await node?.close();
  rmSync(gates, { recursive: true, force: true });
});

interface Route {
  readonly method: string;
  readonly label: string;
  readonly path: () => string;
  readonly body?: unknown;
  readonly needs: Access;
}

// The scope each route needs (docs/security.md has the same table).
const ROUTES: Route[] = [
  { method: 'GET', label: '/healthz', path: () => '/healthz', needs: 'open' },
  { method: 'GET', label: '/readyz', path: () => '/readyz', needs: 'open' },
  { method: 'GET', label: '/metrics', path: () => '/metrics', needs: 'read' },
  { method: 'GET', label: '/v1/job-types', path: () => '/v1/job-types', needs: 'read' },
  { method: 'GET', label: '/v1/jobs?limit=5', path: () => '/v1/jobs?limit=5', needs: 'read' },
  { method: 'GET', label: '/v1/jobs/:doneId', path: () => `/v1/jobs/${doneId}`, needs: 'read' },
  { method: 'GET', label: '/v1/jobs/:doneId/result', path: () => `/v1/jobs/${doneId}/result`, needs: 'read' },
  { method: 'GET', label: '/v1/jobs/:doneId/events', path: () => `/v1/jobs/${doneId}/events`, needs: 'read' },
  { method: 'GET', label: '/v1/cluster', path: () => '/v1/cluster', needs: 'read' },
  { method: 'GET', label: '/ui/index.html', path: () => '/ui/index.html', needs: 'read' },
  { method: 'POST', label: '/v1/jobs', path: () => '/v1/jobs', body: { job: 'spin', input: { tasks: 1, ms: 0 } }, needs: 'submit' },
  { method: 'DELETE', label: '/v1/jobs/:runningId', path: () => `/v1/jobs/${runningId}`, needs: 'submit' },
  { method: 'POST', label: '/v1/jobs/:doneId/retry', path: () => `/v1/jobs/${doneId}/retry`, needs: 'submit' },
  // A worker that does not exist: allowed is then 404, and this node's own worker keeps working.
  { method: 'POST', label: '/v1/workers/no-such-worker/drain', path: () => '/v1/workers/no-such-worker/drain', needs: 'admin' },
  { method: 'PUT', label: '/v1/jobs', path: () => '/v1/jobs', body: {}, needs: 'admin' },
];

const WHO: Array<Who | undefined | 'wrong'> = [undefined, 'wrong', 'read', 'submit', 'submitRead', 'admin', 'all'];

describe.each(ROUTES)('$method $label (needs $needs)', (route) => {
  it.each(WHO.map((who) => [who ?? 'no token', who] as const))('as %s', async (_label, who) => {
    const headers = who === 'wrong' ? { authorization: 'Bearer not-a-configured-token-123' } : as(who);
    const jobsBefore = await countJobs(node.redis, node.store.keys);
    const statusBefore = (await node.store.getJob(runningId))?.status;
    const res = await node.api(route.path(), { method: route.method, headers, ...(route.body === undefined ? {} : { body: route.body }) });

    const allowed = route.needs === 'open' || (who !== undefined && who !== 'wrong' && GRANTS[who].has(route.needs));
    if (allowed) {
      expect([401, 403], JSON.stringify(res.body)).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
      return;
    }
    if (who === undefined || who === 'wrong') {
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.headers.get('www-authenticate')).toBe(who === 'wrong' ? 'Bearer realm="ringpool", error="invalid_token"' : 'Bearer realm="ringpool"');
    } else {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect(res.body.error.message).toContain(`"${route.needs}" scope`);
      expect(res.body.error.details.required).toBe(route.needs);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="ringpool", error="insufficient_scope", scope="${route.needs}"`);
    }
    // A refused request changes nothing.
    expect(await countJobs(node.redis, node.store.keys)).toBe(jobsBefore);
    expect((await node.store.getJob(runningId))?.status).toBe(statusBefore);
  });
});

describe('how the token is sent', () => {
  it('?token= is accepted on GET (EventSource cannot send headers) and does not break the job list filter', async () => {
    const events = await node.api(`/v1/jobs/${doneId}/events?token=${SECRET.read}`);
    expect(events.status).toBe(200);
    expect(events.body).toContain('event: end');
    const list = await node.api(`/v1/jobs?limit=2&token=${SECRET.read}`);
    expect(list.status).toBe(200);
    expect(Array.isArray(list.body.jobs)).toBe(true);
  });

  it('?token= is not accepted on POST: a token in a URL ends up in proxies and history', async () => {
    const before = await countJobs(node.redis, node.store.keys);
    const res = await node.api(`/v1/jobs?token=${SECRET.submit}`, { body: { job: 'spin', input: { tasks: 1, ms: 0 } } });
    expect(res.status).toBe(401);
    expect(await countJobs(node.redis, node.store.keys)).toBe(before);
  });

  it('the scheme is case-insensitive; another scheme is 401 invalid_request', async () => {
    expect((await node.api('/v1/job-types', { headers: { authorization: `bearer ${SECRET.read}` } })).status).toBe(200);
    const basic = await node.api('/v1/job-types', { headers: { authorization: `Basic ${Buffer.from(`u:${SECRET.read}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toContain('error="invalid_request"');
  });

  it('an unknown route is 401 without a token (no route discovery) and 404 with one', async () => {
    expect((await node.api('/v1/secret-admin-thing')).status).toBe(401);
    expect((await node.api('/v1/secret-admin-thing', { headers: as('read') })).status).toBe(404);
  });

  it('a prefix or extension of a valid token is not valid', async () => {
    for (const given of [SECRET.read.slice(0, -1), `${SECRET.read}x`, `${SECRET.read}:read`, SECRET.read.toUpperCase()]) {
      expect((await node.api('/v1/job-types', { headers: { authorization: `Bearer ${given}` } })).status).toBe(401);
    }
  });
});

describe('tokens are never logged or echoed', () => {
  it('not in the log of a failing request, not in error bodies, not in metrics', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const metrics = new Metrics();
    const app = createApi(
      {
        store: node.store,
        registry: node.registry,
        logger: pino({ level: 'trace' }, sink),
        metrics,
        clusterView: async () => {
          throw new Error('cluster view exploded');
        },
      },
      { apiTokens: CONFIGURED },
    );
    const responses: string[] = [];
    const send = async (path: string, init: RequestInit = {}) => {
      const res = await app.request(path, init);
      responses.push(await res.text());
      return res.status;
    };
    expect(await send(`/v1/cluster?token=${SECRET.admin}`)).toBe(500);
    expect(await send('/v1/cluster', { headers: { authorization: `Bearer ${SECRET.all}` } })).toBe(500);
    expect(await send(`/v1/jobs?token=${SECRET.read}x`)).toBe(401);
    expect(await send('/v1/jobs', { method: 'POST', headers: { authorization: `Bearer ${SECRET.read}` } })).toBe(403);
    expect(await send('/v1/jobs', { headers: { authorization: `Bearer ${SECRET.submit}-wrong` } })).toBe(401);
    expect(await send('/metrics', { headers: { authorization: `Bearer ${SECRET.admin}` } })).toBe(200);

    const log = lines.join('');
    expect(log).toContain('cluster view exploded'); // the failures were logged…
    const everything = `${log}\n${responses.join('\n')}`;
    for (const secret of Object.values(SECRET)) expect(everything).not.toContain(secret); // …without any token
    expect(everything).not.toContain('token=');
  });

  it('configuration errors name the entry by position, never by its text', () => {
    const short = 'shorty';
    expect(() => parseApiTokens([SECRET.all, short])).toThrow(/API token #2.*at least 16 characters/);
    expect(() => parseApiTokens([`${SECRET.read}:reed`])).toThrow(/API token #1.*scopes joined by "\+".*"reed"/);
    expect(() => parseApiTokens([SECRET.read, `${SECRET.read}:admin`])).toThrow(/API token #2 .*: the same token is given twice/);
    for (const bad of [[short], [`${SECRET.read}:reed`], [`${SECRET.read}:${SECRET.admin}`]]) {
      try {
        parseApiTokens(bad);
        expect.unreachable();
      } catch (err) {
        expect(String((err as Error).message)).not.toContain(bad[0]!.split(':')[0]!.slice(0, 12));
      }
    }
  });
});

describe('the route → scope table and token lookup', () => {
  it.each([
    ['GET', '/healthz', 'open'],
    ['POST', '/readyz', 'open'],
    ['HEAD', '/v1/jobs', 'read'],
    ['GET', '/', 'open'], // the dashboard's page shell: it must load to ask for a token
    ['GET', '/ui/assets/app.js', 'open'],
    ['POST', '/ui', 'admin'],
    ['GET', '/ui/queues/api/queues', 'read'],
    ['GET', '/v1/jobs/x/events', 'read'],
    ['POST', '/v1/jobs', 'submit'],
    ['post', '/v1/jobs/', 'submit'],
    ['DELETE', '/v1/jobs/abc', 'submit'],
    ['POST', '/v1/jobs/abc/retry', 'submit'],
    ['DELETE', '/v1/jobs', 'admin'],
    ['POST', '/v1/jobs/abc/retry/x', 'admin'],
    ['POST', '/v1/workers/w1/drain', 'admin'],
    ['PATCH', '/v1/jobs/abc', 'admin'],
    ['OPTIONS', '/v1/jobs', 'admin'],
    ['POST', '/healthz/', 'admin'],
  ])('%s %s needs %s', (method, path, needs) => {
    expect(requiredScope(method, path)).toBe(needs);
  });

  it('finds each configured token and only those', () => {
    const tokens = parseApiTokens(CONFIGURED);
    for (const [who, secret] of Object.entries(SECRET)) {
      const found = findToken(secret, tokens);
      expect(found?.scopes, who).toEqual(who === 'admin' ? new Set(['admin']) : GRANTS[who as Who]);
      expect(found?.id).toMatch(/^tok-[0-9a-f]{12}$/);
    }
    expect(findToken('', tokens)).toBeUndefined();
    expect(findToken(CONFIGURED[1]!, tokens)).toBeUndefined(); // "TOKEN:read" is not the token
    expect(new Set(tokens.map((t) => t.id)).size).toBe(tokens.length);
  });
});

// Tenants (docs/tenants.md): tokens of two tenants see and act on their own jobs and schedules only, another tenant's id answers as an unknown one, admin sees all, per-tenant limits and default webhooks.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiTokens } from '../../src/api/auth.js';
import { loadConfig, maskedConfig } from '../../src/config/config.js';
import { TenantPolicies } from '../../src/config/tenants.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

const SECRET = {
  acme: 'acme-token-1f2e3d4c5b6a',
  beta: 'beta-token-9a8b7c6d5e4f',
  betaReader: 'beta-reader-0c1d2e3f4a5b',
  admin: 'admin-token-7e6d5c4b3a29',
  tiny1: 'tiny-token-one-5a4b3c2d1e',
  tiny2: 'tiny-token-two-6b5c4d3e2f',
} as const;
type Who = keyof typeof SECRET;
const TOKENS = [
  `${SECRET.acme}:submit+read@acme`,
  `${SECRET.beta}:submit+read@beta`,
  `${SECRET.betaReader}:read@beta`,
  `${SECRET.admin}:admin@ops`,
  `${SECRET.tiny1}:submit+read@tiny`,
  `${SECRET.tiny2}:submit+read@tiny`,
];

interface Received {
  readonly path: string;
  readonly body: { deliveryId: string; event: string; job: { id: string } };
}

function startReceiver(): Promise<{ server: Server; base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) as Received['body'] });
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, received })));
}

let node: TestNode;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let gates: string;

const as = (who: Who): Record<string, string> => ({ authorization: `Bearer ${SECRET[who]}` });

async function submit(who: Who, input: object, job = 'spin', options: object = {}): Promise<string> {
  const r = await node.api('/v1/jobs', { body: { job, input, options }, headers: as(who) });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.id as string;
}

async function waitForEnd(id: string): Promise<{ status: string }> {
  for (const deadline = Date.now() + 60_000; ; ) {
    const { body } = await node.api(`/v1/jobs/${id}`, { headers: as('admin') });
    if (['completed', 'failed', 'cancelled'].includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${body.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A request's status, body and headers but for those that differ on every answer (date). */
async function answer(path: string, who: Who, method = 'GET'): Promise<{ status: number; body: unknown; headers: Record<string, string> }> {
  const r = await node.api(path, { method, headers: as(who) });
  const headers = Object.fromEntries([...r.headers.entries()].filter(([k]) => k !== 'date'));
  return { status: r.status, body: r.body, headers };
}

let acmeDone: string;
let acmeFailed: string;
let betaRunning: string;

beforeAll(async () => {
  gates = mkdtempSync(join(tmpdir(), 'ringpool-tenants-'));
  receiver = await startReceiver();
  node = await startTestNode(
    {
      threads: 3,
      apiTokens: TOKENS,
      webhookAllow: ['127.0.0.1/32'],
      tenants: {
        acme: { weight: 2, webhooks: [{ url: `${receiver.base}/acme-all` }, { url: `${receiver.base}/acme-failed`, events: ['failed'] }] },
        beta: { weight: 1, webhooks: [] },
        ops: { weight: 1, webhooks: [] },
        tiny: { weight: 1, maxJobsInFlight: 1, webhooks: [] },
      },
    },
    'tenants',
  );
  acmeDone = await submit('acme', { tasks: 2, ms: 0 });
  acmeFailed = await submit('acme', { tasks: 2, failAt: 0, permanent: true }, 'flaky', { retries: 0 });
  betaRunning = await submit('beta', { tasks: 1, ms: 0, until: join(gates, 'never') });
  await waitForEnd(acmeDone);
  await waitForEnd(acmeFailed);
}, 60_000);

afterAll(async () => {
  await node?.close();
  receiver?.server.close();
  rmSync(gates, { recursive: true, force: true });
});

describe('tenants in the configuration', () => {
  it('reads T:scopes@tenant, defaults to the default tenant, and refuses a bad or unlisted tenant naming the token by position only', () => {
    const tokens = parseApiTokens(['plain-token-0123456789', 'scoped-token-0123456789:read@acme', 'bare-tenant-0123456789@beta']);
    expect(tokens.map((t) => t.tenant)).toEqual(['default', 'acme', 'beta']);
    expect([...(tokens[1]?.scopes ?? [])]).toEqual(['read']);
    const listed = new TenantPolicies({ acme: { weight: 1, webhooks: [] } });
    expect(() => parseApiTokens(['ok-token-0123456789@acme', 'secret-token-0123456789:read@nope'], listed)).toThrow(/API token #2 .*unknown tenant "nope": add it under tenants in the config file/);
    expect(() => parseApiTokens(['secret-token-0123456789:read@Bad_Name'], listed)).toThrow(/API token #1 .*tenant name of 1-63 lower-case letters/);
    try {
      parseApiTokens(['secret-token-0123456789:read@nope'], listed);
    } catch (err) {
      expect((err as Error).message).not.toContain('secret-token');
      expect((err as { code?: string }).code).toBe('CONFIG');
    }
  });

  it('reads tenants from the config file with their defaults; a bad name or field is a CONFIG error naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-tenants-config-'));
    try {
      const file = join(dir, 'config.json');
      const secret = 'tenant-hook-secret-0123456789';
      writeFileSync(file, JSON.stringify({ tenants: { acme: { maxJobsInFlight: 5 }, hooked: { webhooks: [{ url: 'https://hooks.example/x', secret }] } } }));
      const config = loadConfig({}, {}, file);
      // `ringpool config` masks a tenant webhook's secret as it masks the others.
      expect(JSON.stringify(maskedConfig(config))).not.toContain(secret);
      expect(JSON.stringify(maskedConfig(config))).toContain('https://hooks.example/x');
      expect(new TenantPolicies(config.tenants).tenantPolicy('acme')).toEqual({ weight: 1, maxJobsInFlight: 5, webhooks: [] });
      expect(new TenantPolicies(config.tenants).tenantPolicy('other')).toEqual({ weight: 1, webhooks: [] });
      writeFileSync(file, JSON.stringify({ tenants: { Acme: {} } }));
      expect(() => loadConfig({}, {}, file)).toThrow(/tenants\.Acme.*lower-case/);
      writeFileSync(file, JSON.stringify({ tenants: { acme: { weight: -1 } } }));
      expect(() => loadConfig({}, {}, file)).toThrow(/tenants\.acme\.weight/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('jobs belong to a tenant', () => {
  it("shows the job's tenant, and answers another tenant's job id exactly as an unknown id on every job route", async () => {
    const own = await node.api(`/v1/jobs/${acmeDone}`, { headers: as('acme') });
    expect(own.status).toBe(200);
    expect(own.body.tenant).toBe('acme');
    // A well-formed id that no job has: same length and shape.
    const unknown = `${acmeDone.slice(0, -10)}0000000000`;
    for (const [method, suffix] of [['GET', ''], ['GET', '/result'], ['GET', '/events'], ['DELETE', ''], ['POST', '/retry']] as const) {
      const theirs = await answer(`/v1/jobs/${method === 'POST' ? acmeFailed : acmeDone}${suffix}`, 'beta', method);
      const none = await answer(`/v1/jobs/${unknown}${suffix}`, 'beta', method);
      expect(theirs.status, `${method} ${suffix}`).toBe(404);
      expect(JSON.stringify(theirs.body).replaceAll(method === 'POST' ? acmeFailed : acmeDone, unknown), `${method} ${suffix}`).toBe(JSON.stringify(none.body));
      expect(theirs.headers).toEqual(none.headers);
    }
    // Nothing changed: the failed job was not retried, the done one not touched.
    expect((await node.api(`/v1/jobs/${acmeFailed}`, { headers: as('acme') })).body.status).toBe('failed');
    const result = await node.api(`/v1/jobs/${acmeDone}/result`, { headers: as('acme') });
    expect(result.status).toBe(200);
  });

  it('lists and searches per tenant; admin sees all and may filter by tenant; a non-admin may name no other tenant', async () => {
    const ids = async (who: Who, query = '') => ((await node.api(`/v1/jobs?limit=100${query}`, { headers: as(who) })).body.jobs as Array<{ id: string; tenant: string }>);
    const acme = await ids('acme');
    expect(acme.map((j) => j.id).sort()).toEqual([acmeDone, acmeFailed].sort());
    expect((await ids('beta')).map((j) => j.id)).toEqual([betaRunning]);
    expect((await ids('betaReader')).map((j) => j.id)).toEqual([betaRunning]);
    const all = (await ids('admin')).map((j) => j.id);
    expect(all).toEqual(expect.arrayContaining([acmeDone, acmeFailed, betaRunning]));
    expect((await ids('admin', '&tenant=beta')).every((j) => j.tenant === 'beta')).toBe(true);
    expect(await ids('beta', `&q=${acmeDone.slice(0, 12)}`)).toEqual([]);
    expect((await ids('admin', `&q=${acmeDone.slice(0, 12)}`)).map((j) => j.id)).toEqual([acmeDone]);
    const other = await node.api('/v1/jobs?tenant=acme', { headers: as('beta') });
    expect(other.status).toBe(403);
    expect(other.body.error.message).toMatch(/query\.tenant/);
  });

  it('lets a tenant retry and cancel its own jobs', async () => {
    const retried = await node.api(`/v1/jobs/${acmeFailed}/retry`, { method: 'POST', headers: as('acme') });
    expect(retried.status).toBe(202);
    const cancelled = await node.api(`/v1/jobs/${betaRunning}`, { method: 'DELETE', headers: as('beta') });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    await waitForEnd(acmeFailed);
  });

  it("answers 429 with Retry-After over a tenant's maxJobsInFlight, whichever of its tokens submits, and stores nothing", async () => {
    const held = await submit('tiny1', { tasks: 1, ms: 0, until: join(gates, 'tiny') });
    const before = (await node.api('/v1/jobs?limit=100', { headers: as('admin') })).body.jobs.length;
    const refused = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 0 } }, headers: as('tiny2') });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.body.error.message).toMatch(/tenant tiny .*tenants\.tiny\.maxJobsInFlight/);
    expect((await node.api('/v1/jobs?limit=100', { headers: as('admin') })).body.jobs.length).toBe(before);
    // Another tenant is not held back by it.
    await submit('beta', { tasks: 1, ms: 0 });
    writeFileSync(join(gates, 'tiny'), '');
    await waitForEnd(held);
    await expect.poll(async () => (await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 0 } }, headers: as('tiny2') })).status, { timeout: 10_000 }).toBe(202);
  });

  it("keeps the queues board, the cluster view and the metrics (each shows every tenant's work) to admin tokens when tokens name more than one tenant", async () => {
    expect((await node.api('/ui/queues/api/queues', { headers: as('betaReader') })).status).toBe(403);
    expect((await node.api('/ui/queues/api/queues', { headers: as('admin') })).status).toBe(200);
    for (const path of ['/v1/cluster', '/metrics']) {
      const refused = await node.api(path, { headers: as('acme') });
      expect(refused.status, path).toBe(403);
      expect(refused.body.error.message).toMatch(/every tenant's work, which needs the "admin" scope when tokens name more than one tenant/);
      expect((await node.api(path, { headers: as('admin') })).status, path).toBe(200);
    }
    // The API's own description says so.
    const doc = (await node.api('/v1/openapi.json', { headers: as('acme') })).body as { paths: Record<string, { get: { description: string } }> };
    expect(doc.paths['/v1/cluster']?.get.description).toMatch(/more than one tenant it needs `admin`/);
    expect(doc.paths['/v1/jobs']?.get.description).not.toMatch(/more than one tenant/);
  });
});

describe('schedules belong to a tenant', () => {
  it("lists, reads, pauses and deletes only the tenant's own schedules; another's answers as an unknown id; admin sees all", async () => {
    const created = await node.api('/v1/schedules', { body: { job: 'spin', input: { tasks: 1, ms: 0 }, cron: '0 0 1 1 *', paused: true }, headers: as('acme') });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.tenant).toBe('acme');
    const id = created.body.id as string;
    const listed = async (who: Who) => ((await node.api('/v1/schedules', { headers: as(who) })).body.schedules as Array<{ id: string }>).map((s) => s.id);
    expect(await listed('acme')).toContain(id);
    expect(await listed('beta')).not.toContain(id);
    expect(await listed('admin')).toContain(id);
    const unknown = 'sch-000000000000';
    for (const [method, suffix] of [['GET', ''], ['POST', '/pause'], ['POST', '/resume'], ['DELETE', '']] as const) {
      const theirs = await answer(`/v1/schedules/${id}${suffix}`, 'beta', method);
      const none = await answer(`/v1/schedules/${unknown}${suffix}`, 'beta', method);
      expect(theirs.status, `${method} ${suffix}`).toBe(404);
      expect(JSON.stringify(theirs.body).replaceAll(id, unknown)).toBe(JSON.stringify(none.body));
      expect(theirs.headers).toEqual(none.headers);
    }
    expect((await node.api(`/v1/schedules/${id}`, { headers: as('acme') })).body.paused).toBe(true);
    expect((await node.api(`/v1/schedules/${id}`, { method: 'DELETE', headers: as('acme') })).status).toBe(200);
  });

  it("starts its ticks' jobs as the schedule's tenant", async () => {
    const created = await node.api('/v1/schedules', { body: { job: 'spin', input: { tasks: 1, ms: 0 }, cron: '* * * * * *' }, headers: as('beta') });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    try {
      const jobId = await expect
        .poll(async () => (await node.api(`/v1/schedules/${id}`, { headers: as('beta') })).body.runs[0]?.jobId, { timeout: 10_000 })
        .toBeTypeOf('string')
        .then(async () => (await node.api(`/v1/schedules/${id}`, { headers: as('beta') })).body.runs[0].jobId as string);
      expect((await node.api(`/v1/jobs/${jobId}`, { headers: as('beta') })).body.tenant).toBe('beta');
      expect((await node.api(`/v1/jobs/${jobId}`, { headers: as('acme') })).status).toBe(404);
    } finally {
      await node.api(`/v1/schedules/${id}`, { method: 'DELETE', headers: as('beta') });
    }
  });
});

describe("a tenant's default webhooks", () => {
  it('are delivered for a job without a callback, each to its own receiver for the events it asks; a job with its own callback sends only that', async () => {
    const plain = acmeDone;
    const own = await submit('acme', { tasks: 1, ms: 0 }, 'spin', { callback: { url: `${receiver.base}/own` } });
    await waitForEnd(own);
    await expect.poll(() => receiver.received.filter((r) => r.body.job.id === own).length, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => receiver.received.filter((r) => r.body.job.id === plain && r.path === '/acme-all').length, { timeout: 15_000 }).toBe(1);
    // The failed job sent to both of its tenant's receivers (its first run, then its retry's run).
    await expect.poll(() => receiver.received.filter((r) => r.body.job.id === acmeFailed && r.path === '/acme-failed').length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    const all = receiver.received.filter((r) => [plain, own, acmeFailed].includes(r.body.job.id));
    expect(all.find((r) => r.body.job.id === own)?.path).toBe('/own');
    expect(all.filter((r) => r.body.job.id === plain).map((r) => r.path)).toEqual(['/acme-all']);
    // One delivery id per receiver: the receivers can tell them apart.
    const ids = all.map((r) => r.body.deliveryId);
    expect(new Set(ids).size).toBe(ids.length);
    // Another tenant without webhooks sends none.
    expect(receiver.received.some((r) => r.body.job.id === betaRunning)).toBe(false);
  });
});

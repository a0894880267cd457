// Completion webhooks (docs/webhooks.md) against a receiver started here: each end delivered once per delivery id and signed, retries, giving up, the SSRF guard, a new leader going on.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { JobStore } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { WebhookDeliveries, retryDelay } from '../../src/scheduler/webhook-delivery.js';
import { loadConfig, maskedConfig } from '../../src/config/config.js';
import { WebhookGuard, postWebhook } from '../../src/transport/webhook-target.js';
import type { Leadership } from '../../src/scheduler/leadership.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

const SECRET = 'node-webhook-secret-0123456789';
const TEST_NET = '192.0.2.7'; // TEST-NET-1: public for the guard, never resolved here
const JOB_SECRET = 'job-webhook-secret-0123456789';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A receiver: `/ok` answers 200, `/flaky-N` 500 twice then 200 (per path), `/down` always 500. */
function startReceiver(): Promise<{ server: Server; base: string; received: Received[] }> {
  const received: Received[] = [];
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, headers: req.headers, body });
      const n = (seen.get(path) ?? 0) + 1;
      seen.set(path, n);
      const ok = path === '/ok' || (path.startsWith('/flaky') && n > 2);
      res.writeHead(ok ? 200 : 500).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    resolve({ server, base: `http://127.0.0.1:${port}`, received });
  }));
}

/** The verification snippet of docs/webhooks.md, taken from the page and imported as it stands. */
async function docsVerifier(dir: string): Promise<(secret: string, header: unknown, body: string) => boolean> {
  const page = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
  const snippet = /```js\n([\s\S]*?verifyRingpoolSignature[\s\S]*?)```/.exec(page)?.[1];
  if (snippet === undefined) throw new Error('docs/webhooks.md has no verification snippet');
  const file = join(dir, 'verify.mjs');
  writeFileSync(file, snippet);
  return ((await import(pathToFileURL(file).href)) as { verifyRingpoolSignature: (s: string, h: unknown, b: string) => boolean }).verifyRingpoolSignature;
}

let node: TestNode;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let verify: Awaited<ReturnType<typeof docsVerifier>>;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringpool-webhooks-'));
  receiver = await startReceiver();
  verify = await docsVerifier(dir);
  node = await startTestNode({ webhookAllow: ['127.0.0.1/32'], webhookSecret: SECRET, webhookRetryForMs: 6_000 }, 'webhooks');
});
afterAll(async () => {
  await node?.close();
  receiver?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function submit(target: TestNode, job: string, input: unknown, callback: object, options: object = {}): Promise<string> {
  const created = await target.api('/v1/jobs', { body: { job, input, options: { ...options, callback } } });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  return created.body.id as string;
}

/** Waits until the job's webhook has left `pending`; returns the job as GET /v1/jobs/:id shows it. */
async function settled(target: TestNode, id: string, timeout = 20_000): Promise<any> {
  return await vi.waitFor(async () => {
    const { body } = await target.api(`/v1/jobs/${id}`);
    expect(body.webhook?.state ?? 'none').not.toMatch(/^(none|pending)$/);
    return body;
  }, { timeout, interval: 100 });
}

const deliveriesTo = (path: string) => receiver.received.filter((r) => r.path === path);

describe('the SSRF guard, the backoff and the configuration', () => {
  it('refuses private, loopback, link-local, shared and mapped addresses unless allowed', () => {
    const guard = new WebhookGuard(['10.1.0.0/16', '::1']);
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1']) {
      expect(guard.refusal(a), a).toMatch(/private/);
    }
    for (const a of ['8.8.8.8', TEST_NET, '2001:4860:4860::8888', '10.1.2.3', '::1']) expect(guard.refusal(a), a).toBeUndefined();
    expect(guard.literalRefusal('http://[fd00::1]:8080/x')).toMatch(/fd00::1/);
    expect(guard.literalRefusal('https://example.com/x')).toBeUndefined(); // a host name is judged at delivery
    expect(() => new WebhookGuard(['10.0.0.0/33'])).toThrow(/CIDR/);
  });

  it('waits twice as long before each retry, with jitter, up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, 1000, 5000, 0))).toEqual([500, 1000, 2000, 2500]);
    expect([1, 2, 3, 4].map((n) => retryDelay(n, 1000, 5000, 0.999999))).toEqual([1000, 2000, 4000, 5000]);
  });

  it('reads the webhook settings from flags and the environment, and refuses bad ones naming the flag', () => {
    const config = loadConfig({ webhookUrl: `https://${TEST_NET}/hook` }, { RINGPOOL_WEBHOOK_ALLOW: '10.1.0.0/16,127.0.0.1/32', RINGPOOL_WEBHOOK_SECRET: SECRET, RINGPOOL_WEBHOOK_RETRY_FOR_MS: '5000' });
    expect(config).toMatchObject({ webhookUrl: `https://${TEST_NET}/hook`, webhookAllow: ['10.1.0.0/16', '127.0.0.1/32'], webhookSecret: SECRET, webhookRetryForMs: 5000 });
    expect(loadConfig({}, {}).webhookRetryForMs).toBe(3_600_000);
    expect(() => loadConfig({ webhookAllow: ['10.0.0.0/8', 'intranet'] }, {})).toThrow(/--webhook-allow.*CIDR/);
    expect(() => loadConfig({ webhookUrl: 'ftp://example.com/x' }, {})).toThrow(/--webhook-url.*http/);
    expect(() => loadConfig({ webhookSecret: 'short' }, {})).toThrow(/--webhook-secret/);
    expect(maskedConfig(config).webhookSecret).not.toContain(SECRET);
  });
});

describe('webhooks', () => {
  it('delivers a completed, a failed and a cancelled job once per delivery id, signed as the docs verify', async () => {
    // Two entries: reduced and ended by the scheduler (complete-job.lua); the retry test's job of one
    // entry is ended by its worker's write (store-results.lua).
    const completed = await submit(node, 'spin', { tasks: 2, ms: 1 }, { url: `${receiver.base}/ok` }, { batchSize: 1 });
    const failed = await submit(node, 'flaky', { tasks: 2, failAt: 0, permanent: true }, { url: `${receiver.base}/ok`, secret: JOB_SECRET });
    const cancelled = await submit(node, 'spin', { tasks: 1, ms: 0, until: join(dir, 'never') }, { url: `${receiver.base}/ok`, events: ['cancelled'] });
    await vi.waitFor(async () => expect((await node.api(`/v1/jobs/${cancelled}`)).body.status).toBe('running'), { timeout: 20_000, interval: 50 });
    expect((await node.api(`/v1/jobs/${cancelled}`, { method: 'DELETE' })).status).toBe(200);

    for (const [id, event, secret] of [[completed, 'completed', SECRET], [failed, 'failed', JOB_SECRET], [cancelled, 'cancelled', SECRET]] as const) {
      const job = await settled(node, id);
      expect(job.webhook).toMatchObject({ deliveryId: `${id}.${event}.0`, event, state: 'delivered', nextAttemptAt: null });
      expect(job.webhook.attempts).toHaveLength(1);
      expect(job.webhook.attempts[0]).toMatchObject({ status: 200, error: null });
      expect(job.options.callback.secret).toBeUndefined(); // kept with the job, never shown
      if (event === 'completed') expect(job.timing.reducedOn).toBe('scheduler');
      const got = receiver.received.filter((r) => r.headers['ringpool-delivery'] === `${id}.${event}.0`);
      expect(got).toHaveLength(1);
      const [r] = got;
      expect(r!.headers['content-type']).toBe('application/json');
      expect(r!.headers['ringpool-event']).toBe(event);
      expect(verify(secret, r!.headers['ringpool-signature'], r!.body)).toBe(true);
      expect(verify('another-secret-0123456789', r!.headers['ringpool-signature'], r!.body)).toBe(false);
      expect(verify(secret, r!.headers['ringpool-signature'], r!.body.replace(event, 'tampered'))).toBe(false);
      const body = JSON.parse(r!.body);
      expect(body).toMatchObject({ deliveryId: `${id}.${event}.0`, event, job: { id, status: event, links: { self: `/v1/jobs/${id}` } } });
      expect(body.job.input).toBeUndefined();
      if (event === 'failed') expect(body.job.error.message).toMatch(/cannot succeed/);
    }
    // No event but those asked for: the cancelled job's callback named only `cancelled`.
    expect(receiver.received.filter((r) => r.headers['ringpool-delivery']?.toString().startsWith(cancelled))).toHaveLength(1);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/ringpool_webhook_deliveries_total\{outcome="delivered"\} [3-9]/);
  });

  it('retries a receiver that answers 500 twice, then delivers; the attempts are in GET /v1/jobs/:id', async () => {
    const id = await submit(node, 'spin', { tasks: 1, ms: 1 }, { url: `${receiver.base}/flaky-1` });
    const job = await settled(node, id);
    expect(job.timing.reducedOn).toBe('w-webhooks'); // ended by the worker's write of its one entry
    expect(job.webhook.state).toBe('delivered');
    expect(job.webhook.attempts.map((a: { status: number }) => a.status)).toEqual([500, 500, 200]);
    expect(job.webhook.attempts[0].error).toMatch(/500/);
    const got = deliveriesTo('/flaky-1');
    expect(got).toHaveLength(3);
    // One delivery id and one body on every retry: the receiver can deduplicate.
    expect(new Set(got.map((r) => r.headers['ringpool-delivery']))).toEqual(new Set([`${id}.completed.0`]));
    expect(new Set(got.map((r) => r.body)).size).toBe(1);
    for (const r of got) expect(verify(SECRET, r.headers['ringpool-signature'], r.body)).toBe(true);
  });

  it('gives up on a receiver that always fails once the retry time has passed', async () => {
    const id = await submit(node, 'spin', { tasks: 1, ms: 1 }, { url: `${receiver.base}/down` });
    const job = await settled(node, id, 30_000);
    expect(job.webhook.state).toBe('gave_up');
    expect(job.webhook.attempts.length).toBeGreaterThanOrEqual(2);
    expect(job.webhook.attempts.every((a: { status: number }) => a.status === 500)).toBe(true);
    expect(deliveriesTo('/down')).toHaveLength(job.webhook.attempts.length);
    expect(await (await fetch(`${node.url}/metrics`)).text()).toMatch(/ringpool_webhook_deliveries_total\{outcome="gave_up"\} 1/);
  });

  it('refuses a callback URL that is not http(s), too long, or a literal private address, with a 400 naming the field; nothing is stored', async () => {
    const before = await node.redis.zcard(node.store.keys.jobs);
    for (const url of ['ftp://example.com/x', 'not a url', `https://example.com/${'a'.repeat(2048)}`, 'http://10.0.0.1/hook', 'http://[::1]:8080/', 'http://[::ffff:10.0.0.1]/', 'http://169.254.169.254/latest/meta-data']) {
      const res = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 1 }, options: { callback: { url } } } });
      expect(res.status, url).toBe(400);
      expect(res.body.error.code).toBe('BAD_INPUT');
      expect(res.body.error.message, url).toMatch(/options\.callback\.url/);
    }
    const badEvent = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 1 }, options: { callback: { url: `${receiver.base}/ok`, events: ['started'] } } } });
    expect(badEvent.status).toBe(400);
    expect(badEvent.body.error.message).toMatch(/options\.callback\.events/);
    expect(await node.redis.zcard(node.store.keys.jobs)).toBe(before);
  });

  it('without an allow-list refuses a loopback literal at submit and a host name that resolves to loopback at delivery, without retrying', async () => {
    const strict = await startTestNode({ webhookRetryForMs: 60_000 }, 'webhooks-strict');
    try {
      const literal = await strict.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 1, ms: 1 }, options: { callback: { url: `${receiver.base}/ok` } } } });
      expect(literal.status).toBe(400);
      expect(literal.body.error.message).toMatch(/options\.callback\.url: 127\.0\.0\.1 is a private/);
      const port = new URL(receiver.base).port;
      const id = await submit(strict, 'spin', { tasks: 1, ms: 1 }, { url: `http://localhost:${port}/refused` });
      const job = await settled(strict, id);
      expect(job.webhook.state).toBe('refused');
      expect(job.webhook.attempts).toHaveLength(1);
      expect(job.webhook.attempts[0]).toMatchObject({ status: null, error: expect.stringMatching(/localhost resolves to .* private/) });
      expect(deliveriesTo('/refused')).toHaveLength(0);
      expect(await (await fetch(`${strict.url}/metrics`)).text()).toMatch(/ringpool_webhook_deliveries_total\{outcome="refused"\} 1/);
    } finally {
      await strict.close();
    }
  });

  it('queues one delivery per end, only for a job with a callback and an event it asks for; ending again changes nothing', async () => {
    const redis = new Redis(inject('redisUrl'));
    const store = new JobStore(redis, createKeys(uniquePrefix('webhooks-queue')));
    const options = { retries: 0, taskTimeoutMs: 1000, taskMemoryMb: 64, batchSize: 0, resultTtlSec: 60 };
    try {
      await store.createJob({ id: 'lx0000000-00000000b1', name: 'spin', input: {}, options, resultType: 'json' });
      await store.createJob({ id: 'lx0000000-00000000b2', name: 'spin', input: {}, options: { ...options, callback: { url: 'https://example.com/h', events: ['failed'] } }, resultType: 'json' });
      await store.createJob({ id: 'lx0000000-00000000b3', name: 'spin', input: {}, options: { ...options, callback: { url: 'https://example.com/h', secret: JOB_SECRET } }, resultType: 'json' });
      for (const id of ['lx0000000-00000000b1', 'lx0000000-00000000b2', 'lx0000000-00000000b3']) {
        expect(await store.cancelJob(id)).toBe('cancelled');
        expect(await store.cancelJob(id)).toBe('cancelled');
      }
      expect(await store.webhooks.forJob('lx0000000-00000000b1')).toBeUndefined(); // no callback
      expect(await store.webhooks.forJob('lx0000000-00000000b2')).toBeUndefined(); // not an event it asked for
      const queued = await store.webhooks.forJob('lx0000000-00000000b3');
      expect(queued).toMatchObject({ id: 'lx0000000-00000000b3.cancelled.0', event: 'cancelled', state: 'pending', attempts: [], callback: { secret: JOB_SECRET } });
      expect(await store.webhooks.due(Date.now() + 1000, 10)).toEqual(['lx0000000-00000000b3.cancelled.0']);
      // The secret is kept for signing, not in the options the API shows.
      expect((await store.getJob('lx0000000-00000000b3'))?.options.callback).toEqual({ url: 'https://example.com/h' });
    } finally {
      redis.disconnect();
    }
  });

  it('connects to the address the guard checked, not to what the host resolves to later (no DNS rebinding)', async () => {
    // `.invalid` never resolves: the POST arrives only because it goes to the checked address.
    const port = new URL(receiver.base).port;
    const status = await postWebhook({ url: `http://rebound.invalid:${port}/pinned`, to: { address: '127.0.0.1', family: 4 }, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 5000 });
    expect(status).toBe(500);
    expect(deliveriesTo('/pinned')).toHaveLength(1);
    expect(deliveriesTo('/pinned')[0]!.headers.host).toBe(`rebound.invalid:${port}`);
  });

  it("a new leader goes on with a delivery its predecessor left, and the predecessor's later attempts are fenced", async () => {
    // Two delivery loops, one leader after the other, on a prefix no scheduler delivers.
    const redis = new Redis(inject('redisUrl'));
    const store = new JobStore(redis, createKeys(uniquePrefix('webhooks-leaders')));
    const logger = pino({ level: 'silent' });
    const leader = (term: number | undefined): Leadership => ({ term, onChange: () => () => {} });
    try {
      await store.createJob({ id: 'lx0000000-00000000aa', name: 'spin', input: {}, options: { retries: 0, taskTimeoutMs: 1000, taskMemoryMb: 64, batchSize: 0, resultTtlSec: 60, callback: { url: `${receiver.base}/flaky-2` } }, resultType: 'json' });
      expect(await store.cancelJob('lx0000000-00000000aa')).toBe('cancelled');
      const first = new WebhookDeliveries({ store: store.webhooks, leadership: leader(3), logger }, { allow: ['127.0.0.1/32'], secret: SECRET, firstRetryMs: 50, pollMs: 20 });
      first.start();
      await vi.waitFor(async () => expect((await store.webhooks.forJob('lx0000000-00000000aa'))?.attempts).toHaveLength(1), { timeout: 10_000, interval: 20 });
      await first.close(); // the leader is gone after one attempt (500)
      const second = new WebhookDeliveries({ store: store.webhooks, leadership: leader(4), logger }, { allow: ['127.0.0.1/32'], secret: SECRET, firstRetryMs: 50, pollMs: 20 });
      second.start();
      await vi.waitFor(async () => expect((await store.webhooks.forJob('lx0000000-00000000aa'))?.state).toBe('delivered'), { timeout: 10_000, interval: 20 });
      await second.close();
      const delivery = await store.webhooks.get('lx0000000-00000000aa.cancelled.0');
      expect(delivery?.attempts.map((a) => a.status)).toEqual([500, 500, 200]);
      expect(new Set(deliveriesTo('/flaky-2').map((r) => r.headers['ringpool-delivery']))).toEqual(new Set(['lx0000000-00000000aa.cancelled.0']));
      // The deposed leader (term 3) cannot record an attempt: the fence refuses it.
      await expect(store.webhooks.recordAttempt(3, 'lx0000000-00000000aa.cancelled.0', { at: Date.now(), status: 200, error: null, latencyMs: 1 }, { state: 'delivered' })).rejects.toMatchObject({ code: 'STALE_TERM' });
    } finally {
      redis.disconnect();
    }
  });
});

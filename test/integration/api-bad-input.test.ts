// Bad input gets a 4xx with a message that says what to fix, and nothing is stored (docs/architecture.md §6).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { countJobs } from '../helpers/store-helpers.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ bodyLimitBytes: 4096 }, 'badinput');
});
afterAll(async () => {
  await node?.close();
});

async function expectRejected(init: Parameters<TestNode['api']>[1], status: number, code: string, mentions: RegExp) {
  const before = await countJobs(node.redis, node.store.keys);
  const res = await node.api('/v1/jobs', init);
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.message).toMatch(mentions);
  expect(await countJobs(node.redis, node.store.keys)).toBe(before);
}

describe('POST /v1/jobs rejects bad input and stores nothing', () => {
  it('an unknown job name names the known types', async () => {
    await expectRejected({ body: { job: 'nope', input: {} } }, 400, 'UNKNOWN_JOB_TYPE', /unknown job type "nope".*primes/);
  });

  it('input failing the schema names the field', async () => {
    await expectRejected({ body: { job: 'primes', input: { from: 0, to: 'ten' } } }, 400, 'BAD_INPUT', /input\.to/);
    await expectRejected({ body: { job: 'primes', input: { from: -5, to: 10 } } }, 400, 'BAD_INPUT', /input\.from/);
  });

  it('malformed JSON says where it broke', async () => {
    await expectRejected({ body: '{"job": "primes", ', headers: { 'content-type': 'application/json' } }, 400, 'MALFORMED_JSON', /not valid JSON/);
  });

  it('a wrong content type asks for application/json', async () => {
    await expectRejected({ method: 'POST', body: 'job=primes', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/);
  });

  it('a chunked body (no Content-Length) is read whole, and refused with 413 once past the limit', async () => {
    // Sent in pieces with Transfer-Encoding: chunked, so only counting the bytes read can refuse it.
    const post = (pieces: string[]) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = request(`${node.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8'))).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        for (const piece of pieces) req.write(piece);
        req.end();
      });
    const before = await countJobs(node.redis, node.store.keys);
    const big = await post(['{"job":"wordcount","input":{"text":"', ...Array.from({ length: 10 }, () => 'x'.repeat(1000)), '"}}']);
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.stringMatching(/4096 bytes/) });
    expect(await countJobs(node.redis, node.store.keys)).toBe(before);
    const small = await post(['{"job":"wordcount",', '"input":{"text":"', 'a b a', '"}}']);
    expect(small.status).toBe(202);
    expect((await node.waitForJob(small.body.id)).status).toBe('completed');
  });

  it('a body over the limit is refused with 413', async () => {
    await expectRejected({ body: { job: 'wordcount', input: { text: 'x'.repeat(10_000) } } }, 413, 'PAYLOAD_TOO_LARGE', /4096 bytes/);
  });

  it('unknown envelope fields and bad options are refused', async () => {
    await expectRejected({ body: { job: 'primes', input: { from: 0, to: 10 }, extra: 1 } }, 400, 'BAD_INPUT', /extra/);
    await expectRejected({ body: { job: 'primes', input: { from: 0, to: 10 }, options: { retries: -1 } } }, 400, 'BAD_INPUT', /options\.retries/);
  });
});

describe('job ids', () => {
  it('a malformed id is 404 with what an id looks like', async () => {
    const res = await node.api('/v1/jobs/..%2F..%2Fetc');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/not a job id/);
  });

  it('an unknown well-formed id is 404', async () => {
    const res = await node.api('/v1/jobs/zzzzzzzz-0000000000');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });

  it('the result of an unfinished job is 409', async () => {
    const created = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 4, ms: 300 } } });
    expect(created.status).toBe(202);
    const res = await node.api(`/v1/jobs/${created.body.id}/result`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('NOT_FINISHED');
    await node.waitForJob(created.body.id);
  });
});

describe('a task that throws', () => {
  it('fails the job with the task error and stack, and the node keeps serving', async () => {
    const created = await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 20, failAt: 7 }, options: { retries: 0 } } });
    const job = await node.waitForJob(created.body.id);
    expect(job.status).toBe('failed');
    expect(job.error.message).toBe('task 7 exploded');
    expect(job.error.stack).toMatch(/flaky\.ts/);
    expect(job.error.taskIndex).toBe(7);
    expect(job.taskErrors[0].taskIndex).toBe(7);
    const next = await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 5 } } });
    expect((await node.waitForJob(next.body.id)).status).toBe('completed');
  });

  it('is retried and the job completes when a later attempt succeeds', async () => {
    const created = await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 10, failOnceAt: 3 }, options: { retries: 2 } } });
    const job = await node.waitForJob(created.body.id);
    expect(job.status).toBe('completed');
    expect((await node.api(`/v1/jobs/${created.body.id}/result`)).body.result).toEqual({ sum: 90, count: 10 });
  });

  it('POST /v1/jobs/:id/retry re-runs only the tasks without a result, and the job completes', async () => {
    // Task 7 fails while this file exists: the test removes it before the retry, not a clock.
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-retry-'));
    const failing = join(dir, 'task-7-fails');
    writeFileSync(failing, '');
    const created = await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 20, failAt: 7, failWhile: failing }, options: { retries: 0 } } });
    const failed = await node.waitForJob(created.body.id);
    expect(failed.status).toBe('failed');
    rmSync(dir, { recursive: true, force: true });
    const retried = await node.api(`/v1/jobs/${created.body.id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    const job = await node.waitForJob(created.body.id);
    expect(job.status).toBe('completed');
    expect(job.progress.duplicates).toBe(0); // no task that had a result ran again to a second stored result
    expect((await node.api(`/v1/jobs/${created.body.id}/result`)).body.result).toEqual({ sum: 380, count: 20 });
    expect((await node.api(`/v1/jobs/${created.body.id}/retry`, { method: 'POST' })).status).toBe(409);
  });

  it('marked not retryable fails at once despite retries', async () => {
    const created = await node.api('/v1/jobs', { body: { job: 'flaky', input: { tasks: 3, failAt: 1, permanent: true }, options: { retries: 5 } } });
    const job = await node.waitForJob(created.body.id);
    expect(job.status).toBe('failed');
    expect(job.error.message).toMatch(/cannot succeed/);
  });
});

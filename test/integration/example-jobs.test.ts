// Each example job submitted over HTTP, run on real threads through BullMQ, matches its serial reference.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mandelbrot from '../../jobs/mandelbrot.js';
import pi from '../../jobs/pi.js';
import wordcount from '../../jobs/wordcount.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { runJobInline } from '../helpers/run-job-inline.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({}, 'examples');
});
afterAll(async () => {
  await node?.close();
});

async function runOverHttp(job: string, input: unknown, options?: unknown) {
  const created = await node.api('/v1/jobs', { body: { job, input, ...(options ? { options } : {}) } });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  const record = await node.waitForJob(created.body.id, 120_000);
  expect(record.status, JSON.stringify(record.error)).toBe('completed');
  expect(record.progress.done).toBe(record.progress.total);
  return { id: created.body.id as string, record, result: await node.api(`/v1/jobs/${created.body.id}/result`) };
}

describe('example jobs end to end', () => {
  it('primes counts 148933 primes below 2,000,000', async () => {
    const { result, record } = await runOverHttp('primes', { from: 0, to: 2_000_000 });
    expect(result.body.result).toBe(148933);
    expect(record.progress.total).toBeGreaterThan(1);
  });

  it('pi is reproducible and equals the serial run of the same seed', async () => {
    const input = { samples: 2_000_000, seed: 42, samplesPerTask: 200_000 };
    const { result } = await runOverHttp('pi', input);
    expect(result.body.result).toEqual(await runJobInline(pi, input));
  });

  it('wordcount finds the same top words as the serial count', async () => {
    const text = 'the quick brown fox jumps over the lazy dog\n'.repeat(500) + 'Über café déjà vu the end\n'.repeat(30);
    const input = { text, top: 5 };
    const { result } = await runOverHttp('wordcount', input);
    expect(result.body.result).toEqual(await runJobInline(wordcount, input));
  });

  it('mandelbrot serves a PNG identical to the serial render', async () => {
    const input = { width: 160, height: 120, maxIter: 200 };
    const { result } = await runOverHttp('mandelbrot', input);
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toBe('image/png');
    const png = PNG.sync.read(result.body as Buffer);
    expect([png.width, png.height]).toEqual([160, 120]);
    const reference = Buffer.from((await runJobInline(mandelbrot, input)) as Uint8Array);
    expect(Buffer.compare(result.body as Buffer, reference)).toBe(0);
  });

  it('lists jobs filtered by status and type, newest first', async () => {
    const done = await node.api('/v1/jobs?status=completed&job=primes');
    expect(done.status).toBe(200);
    expect(done.body.jobs.length).toBeGreaterThanOrEqual(1);
    for (const j of done.body.jobs) expect([j.status, j.job]).toEqual(['completed', 'primes']);
    const page = await node.api('/v1/jobs?limit=2');
    expect(page.body.jobs).toHaveLength(2);
    expect(page.body.jobs[0].createdAt).toBeGreaterThanOrEqual(page.body.jobs[1].createdAt);
    expect(page.body.next).toBe(2);
    expect((await node.api('/v1/jobs?status=bogus')).status).toBe(400);
  });

  it('describes every job type with a JSON schema of its input', async () => {
    const { body } = await node.api('/v1/job-types');
    const names = body.jobTypes.map((t: { name: string }) => t.name);
    expect(names).toEqual(expect.arrayContaining(['mandelbrot', 'pi', 'primes', 'wordcount']));
    const primes = body.jobTypes.find((t: { name: string }) => t.name === 'primes');
    expect(primes.inputSchema.properties).toHaveProperty('from');
  });

  it('streams progress over SSE until the job ends', async () => {
    const created = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 6, ms: 100 } } });
    const res = await fetch(`${node.url}/v1/jobs/${created.body.id}/events`);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text();
    const events = [...text.matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => ({ event: m[1], data: JSON.parse(m[2] as string) }));
    expect(events.at(-1)?.event).toBe('end');
    const progress = events.filter((e) => e.event === 'progress');
    expect(progress.at(-1)?.data.status).toBe('completed');
    expect(progress.at(-1)?.data.progress.done).toBe(6);
  });

  it('cancels a running job: it ends cancelled and stores nothing more', async () => {
    // Tasks from 2 on wait for a file the test creates only after the cancel: the job is running
    // when cancelled, however slow the machine, and its tasks may still finish afterwards. One
    // task per queue entry, so that the first two are stored as each ends (an entry stores its
    // tasks' results together).
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-cancel-'));
    const gate = join(dir, 'finish-now');
    const created = await node.api('/v1/jobs', { body: { job: 'spin', input: { tasks: 40, ms: 200, until: gate, untilFrom: 2 }, options: { batchSize: 1 } } });
    const id = created.body.id;
    await expect.poll(async () => (await node.api(`/v1/jobs/${id}`)).body.progress.done, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    const cancelled = await node.api(`/v1/jobs/${id}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const doneAtCancel = (await node.api(`/v1/jobs/${id}`)).body.progress.done;
    // Whatever still runs or waits in the queue may finish now; once the node's queue holds
    // nothing (no entry waiting or running), nothing of the job can store anything any more.
    writeFileSync(gate, '');
    const queue = node.store.workers.queue('w-examples');
    try {
      await expect
        .poll(async () => Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused')).reduce((a, b) => a + b, 0), { timeout: 60_000 })
        .toBe(0);
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const after = await node.api(`/v1/jobs/${id}`);
    expect(after.body.status).toBe('cancelled');
    expect(after.body.progress.done).toBe(doneAtCancel);
    expect(after.body.progress.done).toBeLessThan(40);
    expect((await node.api(`/v1/jobs/${id}`, { method: 'DELETE' })).status).toBe(409);
  });
});

// Submit and wait (`POST /v1/jobs?wait=MS`): one request, the result in its answer, as a serverless function is invoked.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { monitorRedis } from '../helpers/redis-monitor.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({}, 'wait');
});
afterAll(async () => {
  await node?.close();
});

const jobCount = async () => (await node.api('/v1/jobs?limit=500')).body.jobs.length as number;

describe('POST /v1/jobs?wait=MS', () => {
  it('answers 200 with the result of a job that ends within the wait: the same as the result route serves', async () => {
    const { status, body } = await node.api('/v1/jobs?wait=20000', { body: { job: 'primes', input: { from: 0, to: 100_000 } } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'completed', result: 9592, links: { result: `/v1/jobs/${body.id}/result` } });
    expect((await node.api(`/v1/jobs/${body.id}/result`)).body).toEqual({ id: body.id, result: 9592 });
  });

  it('answers 202 for a job still running when the wait runs out; the result route\'s long poll then has it', async () => {
    // The task runs until the test creates this file: the job is still running when the wait runs out, however slow the machine.
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-wait-'));
    const gate = join(dir, 'end-now');
    const submitted = Date.now();
    const { status, body } = await node.api('/v1/jobs?wait=300', { body: { job: 'which-thread', input: { tasks: [{ ms: 0, until: gate }] } } });
    expect(status).toBe(202);
    expect(Date.now() - submitted).toBeGreaterThanOrEqual(300);
    expect(['queued', 'running']).toContain(body.status);
    expect(body.result).toBeUndefined();
    writeFileSync(gate, '');
    const later = await node.api(`${body.links.result}?wait=20000`);
    rmSync(dir, { recursive: true, force: true });
    expect(later.status).toBe(200);
    expect(later.body.result).toHaveLength(1);
  });

  it('answers 200 with the error of a job that failed within the wait', async () => {
    const { status, body } = await node.api('/v1/jobs?wait=20000', { body: { job: 'which-thread', input: { tasks: [{ ms: 0 }], reduce: 'throw' } } });
    expect(status).toBe(200);
    expect(body.status).toBe('failed');
    expect(body.error.message).toMatch(/reduce failed: reduce broke on purpose/);
    expect(body.result).toBeUndefined();
  });

  it('an image result is not inlined: it is served at links.result', async () => {
    const input = { width: 32, height: 16, maxIter: 50, rowsPerTask: 16 };
    const { status, body } = await node.api('/v1/jobs?wait=20000', { body: { job: 'mandelbrot', input } });
    expect(status).toBe(200);
    expect(body.status).toBe('completed');
    expect(body.result).toBeUndefined();
    const image = await node.api(body.links.result);
    expect(image.headers.get('content-type')).toBe('image/png');
    const png = PNG.sync.read(image.body as Buffer);
    expect([png.width, png.height]).toEqual([32, 16]);
    // One task: its worker reduced it, and stored the image bytes with the job's end.
    expect((await node.api(body.links.self)).body.timing.reducedOn).toBe('w-wait');
  });

  it('a one-task job its own node ran is answered from the worker\'s acknowledged write: the API reads neither the job nor its result back', async () => {
    // The node runs the API and the worker (`ringpool start`): the results' write that ends the job
    // is confirmed by the replica (WAIT), and the waiting request answers from it (local-ends.ts).
    const monitor = await monitorRedis(inject('redisUrl'));
    const { sent } = monitor;
    try {
      const waited = await node.api('/v1/jobs?wait=20000', { body: { job: 'which-thread', input: { tasks: [{ ms: 0 }] } } });
      expect(waited.status).toBe(200);
      expect(waited.body).toMatchObject({ status: 'completed', result: expect.any(Array) });
      const id = waited.body.id as string;
      // What the monitor saw before its probe is all there is.
      await monitor.settle(node.redis);
      // The end was written by the worker's script (a Lua call); no client read the job or its result after it.
      const end = sent.findIndex((s) => s.source === 'lua' && s.command.startsWith('SET ') && s.command.includes(`job:${id}:result`));
      expect(end).toBeGreaterThan(-1);
      // The API's own connections, by the names the node gives them (the scheduler in the same process
      // reads the job on connections of its own, e.g. its loads' refresh once a second, at any time).
      const apiClients = new Set(
        ((await node.redis.client('LIST')) as string)
          .split('\n')
          .filter((line) => / name=ringpool:api(-lists)? /.test(line))
          .map((line) => /\baddr=(\S+)/.exec(line)?.[1]),
      );
      expect(apiClients.size).toBeGreaterThan(0);
      // (Before it, a worker whose tasks take a while reads the job's view: the first job of a fresh node loads its module.)
      expect(sent.slice(end).filter((s) => apiClients.has(s.source) && /^(get|hgetall) /i.test(s.command) && s.command.includes(`job:${id}`))).toEqual([]);
      // A later read finds the same.
      expect((await node.api(`/v1/jobs/${id}/result`)).body).toEqual({ id, result: waited.body.result });
    } finally {
      monitor.stop();
    }
  });

  it('a bad wait is refused with what to fix, and creates nothing', async () => {
    const before = await jobCount();
    for (const wait of ['soon', '-1', '30001']) {
      const { status, body } = await node.api(`/v1/jobs?wait=${wait}`, { body: { job: 'primes', input: { from: 0, to: 10 } } });
      expect(status).toBe(400);
      expect(body.error.code).toBe('BAD_INPUT');
      expect(body.error.message).toMatch(/wait/);
    }
    expect(await jobCount()).toBe(before);
  });
});

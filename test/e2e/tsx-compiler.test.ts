// A node run from the repo compiles TypeScript through tsx, whose esbuild service must not outlive the loads: idle, it pinged every thread that had compiled anything once a second.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandLineOf, descendantsOf, stillRunning } from '../../bench/cleanup.js';
import { freePort } from '../../src/store/local-redis.js';
import { until } from '../helpers/poll.js';
import { killAllSpawned, spawnRingpool } from '../helpers/processes.js';

const base = mkdtempSync(join(tmpdir(), 'ringpool-tsx-compiler-'));
afterAll(() => {
  killAllSpawned();
  rmSync(base, { recursive: true, force: true });
});

/** The esbuild services (`esbuild --service=…`) running under `pid`. */
function esbuildServices(pid: number): number[] {
  return descendantsOf(pid)
    .filter((p) => stillRunning(p) && /esbuild --service/.test(commandLineOf(p.pid)))
    .map((p) => p.pid);
}

describe("tsx's compiler in a node run from the repo", () => {
  it('is stopped once the start and the job modules have loaded: in the main thread, the task threads and the reduce thread', async () => {
    // A job module tsx has never seen (its folder is new): every thread that loads it compiles it.
    const jobs = join(base, 'jobs');
    mkdirSync(jobs);
    writeFileSync(
      join(jobs, 'sum-squares.ts'),
      [
        `import { z } from 'zod';`,
        `import { defineJob } from 'ringpool/sdk';`,
        `export default defineJob({`,
        `  name: 'sum-squares',`,
        `  input: z.strictObject({ n: z.number().int().min(1).max(100) }),`,
        `  defaults: { batchSize: 1 },`,
        `  *split({ n }) { for (let i = 0; i < n; i++) yield i; },`,
        `  run: (i: number): number => i * i,`,
        `  reduce: (squares: number[]): number => squares.reduce((a, b) => a + b, 0),`,
        `});`,
      ].join('\n'),
    );
    const server = spawnRingpool(['start', '--jobs', jobs, '--port', String(await freePort()), '--data-dir', join(base, 'data'), '--threads', '2', '--log-level', 'warn']);
    const [, url] = await server.waitFor(/running at (http:\S+)/, 120_000);
    const created = (await (await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'sum-squares', input: { n: 4 } }) })).json()) as { id: string };
    const res = await fetch(`${url}/v1/jobs/${created.id}/result?wait=30000`);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { result: unknown }).result).toBe(0 + 1 + 4 + 9);

    // Before, each thread that had compiled kept its service for good: this wait never ended.
    await until('no esbuild service left under the node', 60_000, () => esbuildServices(server.child.pid as number).length === 0);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, 180_000);
});

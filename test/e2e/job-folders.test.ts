// Job folders anywhere: a folder outside the repo with no node_modules gets ringpool's `ringpool/sdk` and `zod`; one with its own uses its own; helper files are no jobs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RingpoolError } from '../../src/errors.js';
import { loadJobRegistry } from '../../src/registry/job-registry.js';
import { freePort } from '../../src/store/local-redis.js';
import { isAlive, killAllSpawned, spawnRingpool } from '../helpers/processes.js';

let base: string;

function write(path: string, lines: string[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, lines.join('\n') + '\n');
}

/** A job of `n` tasks, one per queue entry, so the scheduler's reduce thread reduces it; it reports where its code ran. */
function jobSource(name: string, imports: string[], run: string, extra: string[] = []): string[] {
  return [
    `import { isMainThread } from 'node:worker_threads';`,
    `import { z } from 'zod';`,
    `import { defineJob } from 'ringpool/sdk';`,
    ...imports,
    ...extra,
    `export default defineJob({`,
    `  name: '${name}',`,
    `  input: z.strictObject({ n: z.number().int().min(1).max(100) }),`,
    `  defaults: { batchSize: 1 },`,
    `  *split({ n }) { for (let i = 0; i < n; i++) yield i; },`,
    `  run: (i: number) => ({ value: ${run}, inThread: !isMainThread }),`,
    `  reduce: (results: Array<{ value: number; inThread: boolean }>) => ({`,
    `    sum: results.reduce((a, r) => a + r.value, 0),`,
    `    tasksInThreads: results.every((r) => r.inThread),`,
    `    reducedInThread: !isMainThread,`,
    `  }),`,
    `});`,
  ];
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'ringpool-job-folders-'));
  // bare/: nothing installed here or above (os.tmpdir() holds no node_modules).
  write(join(base, 'bare', '_helpers.ts'), ['export const twice = (x: number): number => 2 * x;']);
  write(join(base, 'bare', 'lib', 'offset.ts'), ['export const OFFSET = 1;']);
  write(join(base, 'bare', 'squares.ts'), jobSource('bare-squares', [`import { twice } from './_helpers.js';`, `import { OFFSET } from './lib/offset.js';`], 'twice(i * i) + OFFSET'));
  // Top-level await: CommonJS cannot hold it, so it loads as ESM, through the module hook.
  write(join(base, 'bare', 'awaits.mts'), jobSource('bare-awaits', [], 'i * factor', ['const factor = await Promise.resolve(3);']));
  // own/: a package of its own, and a `ringpool` of its own whose sdk marks the jobs it defines.
  write(join(base, 'own', 'node_modules', 'tiny-thing', 'package.json'), ['{ "name": "tiny-thing", "version": "1.0.0", "main": "index.js" }']);
  write(join(base, 'own', 'node_modules', 'tiny-thing', 'index.js'), ['exports.triple = (x) => 3 * x;']);
  write(join(base, 'own', 'node_modules', 'ringpool', 'package.json'), ['{ "name": "ringpool", "version": "0.0.0-own", "exports": { "./sdk": "./sdk.js" } }']);
  write(join(base, 'own', 'node_modules', 'ringpool', 'sdk.js'), [`exports.defineJob = (job) => ({ ...job, description: "the folder's own ringpool/sdk" });`]);
  write(join(base, 'own', 'triple.ts'), jobSource('own-triple', [`import { triple } from 'tiny-thing';`], 'triple(i)'));
});

afterAll(() => {
  killAllSpawned();
  rmSync(base, { recursive: true, force: true });
});

describe('job folders outside the repo, in a ringpool process', () => {
  it('a bare folder runs on ringpool\'s sdk and zod, a folder with node_modules on its own, in the main thread, the task threads and the reduce thread', async () => {
    // The premise: nothing resolves from the bare folder by itself.
    expect(() => createRequire(join(base, 'bare', 'squares.ts')).resolve('zod')).toThrow();
    const dataDir = join(base, 'data');
    const port = await freePort();
    const server = spawnRingpool(['start', '--jobs', join(base, 'bare'), '--jobs', join(base, 'own'), '--port', String(port), '--data-dir', dataDir, '--threads', '2', '--log-level', 'warn']);
    const [, url] = await server.waitFor(/running at (http:\S+)/, 120_000);
    const redisPids = readFileSync(join(dataDir, 'redis', 'redis.pids'), 'utf8').trim().split('\n').map(Number);

    const types = (await (await fetch(`${url}/v1/job-types`)).json()) as { jobTypes: Array<{ name: string; description: string }> };
    const names = types.jobTypes.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['bare-awaits', 'bare-squares', 'own-triple']));
    expect(names.filter((n) => n.startsWith('bare-') || n.startsWith('own-'))).toHaveLength(3); // the helpers are no jobs
    expect(types.jobTypes.find((t) => t.name === 'own-triple')?.description).toBe("the folder's own ringpool/sdk");
    expect(types.jobTypes.find((t) => t.name === 'bare-squares')?.description).toBe('');

    const run = async (job: string, n: number) => {
      const created = (await (await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job, input: { n } }) })).json()) as { id: string };
      const res = await fetch(`${url}/v1/jobs/${created.id}/result?wait=30000`);
      expect(res.status, await res.clone().text()).toBe(200);
      const record = (await (await fetch(`${url}/v1/jobs/${created.id}`)).json()) as { timing: { reducedOn: string } };
      expect(record.timing.reducedOn).toBe('scheduler');
      return ((await res.json()) as { result: unknown }).result;
    };
    const inThreads = { tasksInThreads: true, reducedInThread: true };
    expect(await run('bare-squares', 5)).toEqual({ sum: 2 * (0 + 1 + 4 + 9 + 16) + 5, ...inThreads });
    expect(await run('bare-awaits', 4)).toEqual({ sum: 3 * (0 + 1 + 2 + 3), ...inThreads });
    expect(await run('own-triple', 4)).toEqual({ sum: 3 * (0 + 1 + 2 + 3), ...inThreads });

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    for (const pid of redisPids) expect(isAlive(pid)).toBe(false);
  }, 180_000);
});

/** zod's ESM entry by absolute URL: these modules are loaded in the test process, whose module runner cannot lend them ringpool's copies. */
const ZOD_URL = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('zod/package.json')), 'index.js')).href;

describe('which files of a folder are job modules', () => {
  const job = [
    `import { z } from ${JSON.stringify(ZOD_URL)};`,
    `export default { name: 'rule-job', input: z.object({}), *split() { yield 1; }, run: (x) => x, reduce: (r) => r.length };`,
  ];

  it('not those starting with `_`, hidden ones, declarations, tests, nor anything in a subfolder', async () => {
    const dir = join(base, 'rule');
    write(join(dir, 'job.mjs'), job);
    // Each of these would fail the load if it were taken as a job module: none exports a job.
    write(join(dir, '_helpers.ts'), ['export const helper = 1;']);
    write(join(dir, '.hidden.mjs'), ['export const hidden = 1;']);
    write(join(dir, 'types.d.ts'), ['export type T = number;']);
    write(join(dir, 'job.test.ts'), ['export const test = 1;']);
    write(join(dir, 'lib', 'x.ts'), ['export const x = 1;']);
    write(join(dir, 'lib', 'nested-job.mjs'), job.map((l) => l.replace('rule-job', 'nested-job')));
    const registry = await loadJobRegistry([dir]);
    expect(registry.list().map((j) => j.name)).toEqual(['rule-job']);
  });

  it('a module file that exports no job fails the load with the rule in the message', async () => {
    const dir = join(base, 'not-a-job');
    write(join(dir, 'job.mjs'), job);
    write(join(dir, 'util.ts'), ['export function util(): number { return 1; }']);
    const err = await loadJobRegistry([dir]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RingpoolError);
    expect((err as RingpoolError).code).toBe('CONFIG');
    expect((err as Error).message).toBe(
      `${join(dir, 'util.ts')} must export default defineJob({ name, input, split, run, reduce }); helper files start with \`_\` or live in a subfolder`,
    );
  });
});

// The packed tarball, installed in an empty folder outside the repo, runs a TypeScript job module with `npx ringpool start`.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/store/local-redis.js';
import { writeOfflineApp } from '../helpers/offline-app.js';
import { isAlive } from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const base = mkdtempSync(join(tmpdir(), 'ringpool-package-'));
let server: ReturnType<typeof spawn> | undefined;

afterAll(() => {
  // A failed test leaves nothing running: npx, ringpool's node under it, the node's redis-servers.
  if (server?.exitCode === null) server.kill('SIGKILL');
  for (const pid of processesUnder(base)) process.kill(pid, 'SIGKILL');
  const redisPids = join(base, 'app', 'data', 'redis', 'redis.pids');
  if (existsSync(redisPids)) for (const pid of readFileSync(redisPids, 'utf8').trim().split('\n').map(Number)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

/** Every process whose command line names a path under `dir` (ringpool's node, its redis-servers). */
function processesUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe('the npm package', () => {
  it('packs, installs with zod in an empty folder, serves a TypeScript job module that imports ringpool/sdk, zod and a helper, answers ringpool/client, and takes a deploy', async () => {
    // npm pack builds dist/ (prepack) and removes it again (postpack).
    const packed = await run('npm', ['pack', '--pack-destination', base], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const tarball = join(base, packed.stdout.trim().split('\n').at(-1) as string);
    expect(existsSync(join(ROOT, 'dist'))).toBe(false);

    // What ships: the compiled code, its assets and declarations, the bin and the example jobs; no sources, tests or docs.
    const listed = (await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    const top = [...new Set(listed.map((f) => f.split('/')[0]))].sort();
    expect(top).toEqual(['README.md', 'bin', 'dist', 'jobs', 'package.json']);
    expect(listed.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !/^jobs\/[^/]+\.ts$/.test(f))).toEqual([]); // no TypeScript of ringpool's own
    expect(listed).toEqual(
      expect.arrayContaining([
        'bin/ringpool.mjs',
        'dist/package.json',
        'dist/cli/main.js',
        'dist/sdk/index.js',
        'dist/sdk/index.d.ts',
        'dist/worker/thread-entry.cjs',
        'dist/scheduler/reduce-entry.cjs',
        'dist/registry/own-copies-hook.mjs',
        'dist/store/scripts/store-results.lua',
        'dist/ui/assets/index.html',
        'jobs/primes.ts',
      ]),
    );

    // Offline: the tarball and what the repo's `npm ci` put in the npm cache (see writeOfflineApp).
    const app = join(base, 'app');
    mkdirSync(join(app, 'jobs'), { recursive: true });
    writeOfflineApp(ROOT, tarball, app);
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
    expect(existsSync(join(app, 'node_modules', 'ringpool', 'dist', 'cli', 'main.js'))).toBe(true);
    writeFileSync(join(app, 'jobs', '_util.ts'), 'export const square = (x: number): number => x * x;\n');
    writeFileSync(
      join(app, 'jobs', 'hello.ts'),
      [
        `import { z } from 'zod';`,
        `import { defineJob } from 'ringpool/sdk';`,
        `import { square } from './_util.js';`,
        `export default defineJob({`,
        `  name: 'hello',`,
        `  input: z.strictObject({ n: z.number().int().min(1).max(1000) }),`,
        `  *split({ n }) { for (let i = 1; i <= n; i++) yield i; },`,
        `  run: (i: number) => square(i),`,
        `  reduce: (squares: number[]) => ({ sum: squares.reduce((a, b) => a + b, 0), tasks: squares.length }),`,
        `});`,
        ``,
      ].join('\n'),
    );

    const port = await freePort();
    server = spawn('npx', ['ringpool', 'start', '--jobs', './jobs', '--port', String(port), '--data-dir', './data', '--threads', '2', '--log-level', 'warn'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    server.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    server.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => server?.once('exit', (code) => resolve(code)));
    for (let i = 0; i < 1200 && !/running at http/.test(out); i++) {
      if (server.exitCode !== null) throw new Error(`ringpool start exited ${server.exitCode}: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out, err).toMatch(`running at http://127.0.0.1:${port}`);
    expect(out).toMatch(/job types: csv-aggregate, hello, mandelbrot, pi, primes, shard-search, wordcount\)/); // _util.ts is a helper, not a job
    const url = `http://127.0.0.1:${port}`;

    const submit = await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'hello', input: { n: 40 } }) });
    expect(submit.status).toBe(202);
    const { id } = (await submit.json()) as { id: string };
    const result = await fetch(`${url}/v1/jobs/${id}/result?wait=30000`);
    expect(result.status, await result.clone().text()).toBe(200);
    expect(((await result.json()) as { result: unknown }).result).toEqual({ sum: (40 * 41 * 81) / 6, tasks: 40 });
    // A bad input is refused by the module's own zod schema.
    const bad = await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'hello', input: { n: 0 } }) });
    expect(bad.status).toBe(400);

    // ringpool/client from the package, in a script of the user's.
    writeFileSync(
      join(app, 'use-client.mjs'),
      [
        `import { createClient } from 'ringpool/client';`,
        `const client = createClient({ url: process.argv[2] });`,
        `const job = await client.submit('hello', { n: 3 });`,
        `console.log(JSON.stringify(await job.result()));`,
        ``,
      ].join('\n'),
    );
    expect((await run('node', ['use-client.mjs', url], { cwd: app })).stdout.trim()).toBe(JSON.stringify({ sum: 14, tasks: 3 }));
    // A module deployed through the packaged CLI: bundled, checked in the package's check thread, run by its threads.
    mkdirSync(join(app, 'more'));
    writeFileSync(join(app, 'more', '_twice.ts'), 'export const twice = (x: number): number => 2 * x;\n');
    writeFileSync(
      join(app, 'more', 'doubled.ts'),
      `import { z } from 'zod';\nimport { defineJob } from 'ringpool/sdk';\nimport { twice } from './_twice.js';\nexport default defineJob({ name: 'doubled', input: z.object({ n: z.number().int() }), *split({ n }) { for (let i = 1; i <= n; i++) yield i; }, run: (i: number) => twice(i), reduce: (r: number[]) => r });\n`,
    );
    const deployed = await run('npx', ['ringpool', 'deploy', './more/doubled.ts', '--url', url], { cwd: app });
    expect(deployed.stdout).toMatch(/^deployed doubled version 1 /);
    const ran = await fetch(`${url}/v1/jobs?wait=30000`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'doubled', input: { n: 3 } }) });
    expect(await ran.json()).toMatchObject({ status: 'completed', result: [2, 4, 6] });

    const redisPids = readFileSync(join(app, 'data', 'redis', 'redis.pids'), 'utf8').trim().split('\n').map(Number);
    expect(redisPids).toHaveLength(2);
    // npx does not pass SIGTERM on: it goes to ringpool's node, as a supervisor sends it; npx exits with its code.
    const nodes = processesUnder(join(app, 'node_modules', '.bin', 'ringpool'));
    expect(nodes).toHaveLength(1);
    process.kill(nodes[0] as number, 'SIGTERM');
    expect(await exited, err).toBe(0);
    for (const pid of redisPids) expect(isAlive(pid)).toBe(false);
    expect(processesUnder(app)).toEqual([]);
  }, 600_000);
});

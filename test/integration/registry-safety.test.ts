// Only registered job modules run: a job name is looked up, never turned into a path; symlinks out of --jobs DIR are not loaded.
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createApi } from '../../src/api/app.js';
import { loadJobRegistry, type JobRegistry } from '../../src/registry/job-registry.js';
import { folderResolver } from '../../src/registry/live-registry.js';
import { JobStore } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { countJobs } from '../helpers/store-helpers.js';

let base: string;
let jobs: string;

/** zod's ESM entry, by absolute URL: the modules live in a temporary folder with no node_modules. */
const ZOD_URL = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('zod/package.json')), 'index.js')).href;

/** A job module (plain ESM) that leaves a marker file when it is imported at all. */
function moduleSource(name: string, marker: string): string {
  return [
    `import { writeFileSync } from 'node:fs';`,
    `import { z } from ${JSON.stringify(ZOD_URL)};`,
    `writeFileSync(${JSON.stringify(marker)}, 'imported');`,
    `export default {`,
    `  name: ${JSON.stringify(name)},`,
    `  input: z.object({}),`,
    `  *split() { yield 1; },`,
    `  run: (x) => x,`,
    `  reduce: (r) => r.length,`,
    `};`,
    ``,
  ].join('\n');
}

function marker(name: string): string {
  return join(base, `imported-${name}`);
}

function writeModule(path: string, name: string): void {
  writeFileSync(path, moduleSource(name, marker(name)));
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'ringpool-registry-safety-'));
  jobs = join(base, 'jobs');
  const outside = join(base, 'outside');
  const sibling = join(base, 'jobs-evil'); // shares the prefix "jobs": a naive startsWith(root) would let it in
  for (const d of [jobs, join(jobs, 'sub'), outside, sibling]) mkdirSync(d, { recursive: true });

  writeModule(join(jobs, 'good.mjs'), 'good');
  writeModule(join(jobs, 'sub', 'inner.mjs'), 'inner');
  writeModule(join(outside, 'evil.mjs'), 'evil');
  writeModule(join(sibling, 'evil2.mjs'), 'evil2');
  writeModule(join(base, 'parent.mjs'), 'parent');

  symlinkSync('sub/inner.mjs', join(jobs, 'inner-link.mjs')); // stays inside: loaded
  symlinkSync('../outside/evil.mjs', join(jobs, 'escape.mjs')); // relative, leaves the folder
  symlinkSync(join(outside, 'evil.mjs'), join(jobs, 'absolute-escape.mjs')); // absolute, leaves the folder
  symlinkSync(join(sibling, 'evil2.mjs'), join(jobs, 'sibling.mjs')); // into a folder whose name starts like ours
  symlinkSync(outside, join(jobs, 'outlink')); // a directory link…
  symlinkSync('outlink/evil.mjs', join(jobs, 'chain.mjs')); // …and a file link through it
  symlinkSync('sub', join(jobs, 'dir-link.mjs')); // a directory named like a module
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('loading --jobs DIR', () => {
  let registry: JobRegistry;
  beforeAll(async () => {
    registry = await loadJobRegistry([jobs]);
  });

  it('loads the folder\'s modules, and a symlink that stays inside it', () => {
    expect(registry.list().map((j) => j.name)).toEqual(['good', 'inner']);
    expect(registry.get('inner')?.path).toBe(join(jobs, 'sub', 'inner.mjs'));
  });

  it('never imports a module reached through a symlink that leads out of the folder (relative, absolute, a look-alike sibling, a linked directory)', () => {
    for (const name of ['evil', 'evil2']) {
      expect(registry.get(name)).toBeUndefined();
      expect(existsSync(marker(name)), `${name} was imported`).toBe(false);
    }
  });

  it('a path with ".." is the folder it names, and only that folder is loaded', async () => {
    const viaDots = await loadJobRegistry([join(jobs, 'sub', '..')]);
    expect(viaDots.list().map((j) => j.name)).toEqual(['good', 'inner']);
    expect(existsSync(marker('parent'))).toBe(false);
  });

  it('a job name is a key, not a path: names with "..", slashes or file URLs find nothing', () => {
    for (const name of ['../outside/evil', 'outside/evil', '../outside/evil.mjs', join(base, 'outside', 'evil.mjs'), `file://${join(base, 'outside', 'evil.mjs')}`, 'good/../evil', '..', '.', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(registry.get(name), name).toBeUndefined();
    }
  });
});

describe('submitting a name that looks like a path', () => {
  let redis: Redis;
  let store: JobStore;
  let registry: JobRegistry;
  beforeAll(async () => {
    registry = await loadJobRegistry([jobs]);
    redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    store = new JobStore(redis, createKeys(uniquePrefix('regsafety')));
  });
  afterAll(() => {
    redis?.disconnect();
  });

  it.each([
    '../outside/evil',
    '../outside/evil.mjs',
    '..%2Foutside%2Fevil',
    'jobs/../outside/evil',
    '/etc/passwd',
    'file:///etc/passwd',
    'node:child_process',
    'evil',
    'evil2',
    '__proto__',
    'constructor',
  ])('%s is UNKNOWN_JOB_TYPE, stores nothing and imports nothing', async (name) => {
    const app = createApi({ store, registry: folderResolver(registry) });
    const res = await app.request('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: name, input: {} }) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('UNKNOWN_JOB_TYPE');
    expect(body.error.message).toMatch(/known types: good, inner$/);
    expect(await countJobs(redis, store.keys)).toBe(0);
    for (const m of ['evil', 'evil2', 'parent']) expect(existsSync(marker(m))).toBe(false);
  });

  it('GET /v1/job-types lists only the registered modules', async () => {
    const res = await createApi({ store, registry: folderResolver(registry) }).request('/v1/job-types');
    const body = (await res.json()) as { jobTypes: Array<{ name: string }> };
    expect(body.jobTypes.map((j) => j.name)).toEqual(['good', 'inner']);
  });
});

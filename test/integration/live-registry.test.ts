// A node's registry of deployed versions over a real Redis: the active version followed, any version resolved on demand, a bounded number kept loaded.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { blobReader } from '../../src/blobs/open.js';
import { bundleJobModule } from '../../src/registry/deploy-bundle.js';
import { loadJobRegistry } from '../../src/registry/job-registry.js';
import { LiveRegistry, LOADED_VERSIONS } from '../../src/registry/live-registry.js';
import { JobStore } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { IDLE_GRID_MS, idleGrid } from '../../src/timer-grid.js';
import { FIXTURE_JOBS } from '../helpers/cluster.js';
import { uniquePrefix } from '../helpers/prefix.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

const meta = { deployedBy: 'tok-test', description: '', resultType: 'json' };
const source = (n: number) => `import { z } from 'zod';\nimport { defineJob } from 'ringpool/sdk';\nexport default defineJob({ name: 'lru', input: z.object({}), *split() { yield ${n}; }, run: (x: number) => x, reduce: (r: number[]) => r[0] });`;

describe('LiveRegistry', () => {
  it('serves the active version, resolves any stored one, and keeps at most LOADED_VERSIONS besides the active', async () => {
    const store = new JobStore(redis, createKeys(uniquePrefix('live')));
    const registry = new LiveRegistry(await loadJobRegistry([FIXTURE_JOBS]), store.jobTypes, { pollMs: 50 });
    const count = LOADED_VERSIONS + 8;
    for (let n = 1; n <= count; n++) await store.jobTypes.deploy('lru', await bundleJobModule({ source: source(n), filename: 'lru.ts' }), meta);
    await registry.refresh();
    expect(registry.get('lru')).toMatchObject({ source: 'deployed', version: count });
    expect(registry.get('flaky')).toMatchObject({ source: 'folder', version: null });
    for (let n = 1; n <= count; n++) {
      const served = await registry.resolve('lru', n);
      expect([...(served.module.split({}, { blobs: blobReader(undefined), log: () => {} }) as Iterable<number>)]).toEqual([n]);
    }
    expect(registry.loadedVersions).toBeLessThanOrEqual(LOADED_VERSIONS);
    // The first ones were let go; asked again, they are loaded again, and the active one stays.
    expect(registry.peek('lru', 1)).toBeUndefined();
    expect([...((await registry.resolve('lru', 1)).module.split({}, { blobs: blobReader(undefined), log: () => {} }) as Iterable<number>)]).toEqual([1]);
    expect(registry.peek('lru', count)).toBeDefined();
    await expect(registry.resolve('lru', count + 1)).rejects.toMatchObject({ code: 'UNKNOWN_JOB_TYPE' });
    await expect(registry.resolve('nope', null)).rejects.toMatchObject({ code: 'UNKNOWN_JOB_TYPE' });
  });

  it('follows a deploy by itself within its poll', async () => {
    const store = new JobStore(redis, createKeys(uniquePrefix('live')));
    const registry = new LiveRegistry(await loadJobRegistry([FIXTURE_JOBS]), store.jobTypes, { pollMs: 50 });
    await registry.start();
    try {
      expect(registry.get('lru')).toBeUndefined();
      await store.jobTypes.deploy('lru', await bundleJobModule({ source: source(7), filename: 'lru.ts' }), meta);
      await expect.poll(() => registry.get('lru')?.version, { timeout: 10_000 }).toBe(1);
      expect(registry.list().map((j) => j.name)).toContain('lru');
    } finally {
      registry.stop();
    }
  });

  it('waits for a poll seconds apart on the idle grid (no wake-up of its own), and stops waiting when stopped', async () => {
    const store = new JobStore(redis, createKeys(uniquePrefix('live')));
    const registry = new LiveRegistry(await loadJobRegistry([FIXTURE_JOBS]), store.jobTypes, { pollMs: 2 * IDLE_GRID_MS });
    const waiting = idleGrid.size;
    await registry.start();
    // Before, the poll had a timer of its own: the grid held nothing more.
    expect(idleGrid.size).toBe(waiting + 1);
    registry.stop();
    expect(idleGrid.size).toBe(waiting);
  });
});

// Retention: a failed or cancelled job is kept for its resultTtlSec, with what it stored, then forgotten;
// a retry keeps it; the listings lose forgotten jobs, and a tenant's listing holds only its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startLocalRedis } from '../../src/store/local-redis.js';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { JobStore, newJobId } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { completeJob, storeResults } from '../helpers/store-helpers.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

const TTL = 600;

async function create(store: JobStore, tenant?: string): Promise<string> {
  const id = newJobId();
  await store.createJob({ id, name: 'primes', input: { from: 0, to: 10 }, options: { ...JOB_OPTION_DEFAULTS, resultTtlSec: TTL }, resultType: 'json', tenant });
  return id;
}

/** Seconds to live of each key a job holds (-1: kept for ever, -2: absent). */
async function ttls(store: JobStore, id: string): Promise<number[]> {
  const k = store.keys;
  return await Promise.all([k.job(id), k.results(id), k.storedBits(id), k.taskErrors(id)].map((key) => redis.ttl(key)));
}

describe('job retention', () => {
  it('a failed job keeps its results for its resultTtlSec; a retry keeps it again; a cancelled one expires alike', async () => {
    const store = new JobStore(redis, createKeys(uniquePrefix('retain')));
    const failed = await create(store);
    await store.startJob(failed, 1);
    await storeResults(store, failed, [[0, 'kept']]);
    await store.failTask(failed, 1, { code: 'TASK_FAILED', message: 'boom' });
    expect((await store.getJob(failed))?.status).toBe('failed');
    for (const ttl of await ttls(store, failed)) expect(ttl).toBeGreaterThan(TTL - 10), expect(ttl).toBeLessThanOrEqual(TTL);

    expect(await store.retryJob(failed)).toBe('failed');
    // Live again: nothing it holds expires (its errors were cleared by the retry: absent).
    expect(await ttls(store, failed)).toEqual([-1, -1, -1, -2]);

    const cancelled = await create(store);
    await store.startJob(cancelled, 1);
    await storeResults(store, cancelled, [[0, 'x']]);
    expect(await store.cancelJob(cancelled)).toBe('cancelled');
    const [record, results, bits] = await ttls(store, cancelled);
    for (const ttl of [record, results, bits]) expect(ttl).toBeGreaterThan(TTL - 10);

    const byLeader = await create(store);
    await store.startJob(byLeader, 1);
    expect(await store.failJob(byLeader, 1, { code: 'INTERNAL', message: 'no' })).toBe('failed');
    expect((await ttls(store, byLeader))[0]).toBeGreaterThan(TTL - 10);
  });

  it("lists a tenant's jobs from its own index, and the sweep takes forgotten jobs out of every listing", async () => {
    // A Redis of its own: the command count below must not see other test files' reads.
    const dir = mkdtempSync(join(tmpdir(), 'retention-'));
    const own = await startLocalRedis({ dir });
    const redis = new Redis(own.url);
    try {
      await listsAndSweeps(redis);
    } finally {
      redis.disconnect();
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A tenant's listing reads only its jobs; the sweep drops forgotten ids and indexes unlisted ones. */
async function listsAndSweeps(redis: Redis): Promise<void> {
  const store = new JobStore(redis, createKeys(uniquePrefix('retain')));
  const k = store.keys;
  const mine = [await create(store, 'acme'), await create(store, 'acme')];
  const theirs = await Promise.all(Array.from({ length: 30 }, () => create(store, 'other')));
  const before = await hgetallCalls(redis);
  expect((await store.listJobs({ tenant: 'acme', limit: 10 })).jobs.map((j) => j.id).sort()).toEqual([...mine].sort());
  // Only acme's records were read (the global listing holds 32 jobs).
  expect((await hgetallCalls(redis)) - before).toBe(2);

  // A job created before tenant listings existed is added to its tenant's by the sweep.
  const old = await create(store, 'acme');
  await redis.zrem(k.jobsOfTenant('acme'), old);
  // Jobs Redis has forgotten (their TTL passed): gone from every listing after a sweep.
  const done = mine[0] as string;
  await store.startJob(done, 1);
  await completeJob(store, done, 1, { type: 'json', value: 1 }, 1);
  await redis.del(k.job(done), k.job(theirs[0] as string));
  expect(await store.sweepIndexes()).toEqual({ removed: 4, indexed: 1 });
  expect(await redis.zscore(k.jobs, done)).toBeNull();
  expect(await redis.zscore(k.jobsById, theirs[0] as string)).toBeNull();
  expect(await redis.zcard(k.jobs)).toBe(31);
  expect((await store.listJobs({ tenant: 'acme', limit: 10 })).jobs.map((j) => j.id).sort()).toEqual([mine[1], old].sort());
  expect(await redis.zcard(k.jobsOfTenant('other'))).toBe(29);
  // A second pass finds nothing to do.
  expect(await store.sweepIndexes()).toEqual({ removed: 0, indexed: 0 });
}

/** How many HGETALLs the Redis server has run (INFO commandstats). */
async function hgetallCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_hgetall:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

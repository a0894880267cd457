// Store calls only tests and benches make: results from plain values, all of a job's results (over the store's public API), a job count (raw).
import type { Redis } from 'ioredis';
import type { JobStatus } from '../../src/store/job-record.js';
import type { JobStore } from '../../src/store/job-store.js';
import type { Keys } from '../../src/store/keys.js';
import { assembleResults, batchTexts } from '../../src/store/result-blobs.js';
import type { JobResultBody, StoredFrom, StoredResults } from '../../src/store/result-store.js';

/** Stores task results given as values, as a worker stores its threads' JSON (`results.storeResultJson`). */
export async function storeResults(store: JobStore, jobId: string, entries: ReadonlyArray<readonly [number, unknown]>, from?: StoredFrom): Promise<StoredResults> {
  return await store.results.storeResultJson(jobId, entries.map(([index, value]) => [index, JSON.stringify(value ?? null)] as const), from);
}

/** Completes a running job with a result given as a value or an image's bytes (`completeJobWith`). */
export async function completeJob(store: JobStore, id: string, term: number, result: JobResultBody, ttlSec: number, now: number = Date.now()): Promise<JobStatus | 'missing'> {
  return await store.completeJobWith(id, term, result.type === 'image/png' ? result.bytes : JSON.stringify(result.value ?? null), ttlSec, now);
}

/** Every stored task result of a job, in task order (undefined where none is stored). */
export async function readResults(store: JobStore, id: string, total: number): Promise<unknown[]> {
  return assembleResults(batchTexts(await store.results.readResultBatches(id)), total);
}

/** How many jobs were created under the prefix of `keys` (the listing's entries, expired ones too). */
export async function countJobs(redis: Redis, keys: Keys): Promise<number> {
  return await redis.zcard(keys.jobs);
}

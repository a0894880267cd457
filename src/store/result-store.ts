// Task results and a job's result in Redis: stored (first write wins) and confirmed on the replicas, read back for the reduce and the API (docs/architecture.md §3-§5).
import type { Redis } from 'ioredis';
import type { ResultType } from '../sdk/index.js';
import { TERMINAL_STATUSES, type JobStatus } from './job-record.js';
import type { Keys } from './keys.js';
import type { ReplicatedWrites } from './replicated-writes.js';
import { defineScripts, sendScript } from './scripts.js';
import type { BatchStamp } from '../transport/task-batch.js';
import { packBatches, packResults, type PackedResults, type ResultBatches } from './result-blobs.js';

export interface StoredResults {
  readonly stored: number;
  readonly duplicates: number;
  /** 'stale': nothing was stored, the batch's term is stale (isStaleBatch). */
  readonly status: JobStatus | 'missing' | 'stale';
}

/** Who stored results, for the job's timings and per-node counts. */
export interface StoredFrom {
  readonly jobType: string;
  /** Measured run time per task; omitted when unknown. */
  readonly microsPerTask?: number;
  readonly node?: string;
  /** The queue entry's attempt (0 first). */
  readonly attempt?: number;
  /** The batch the results come from: nothing is stored from a batch of a stale term. */
  readonly batch?: BatchStamp;
}

export type JobResultBody = { readonly type: 'json'; readonly value: unknown } | { readonly type: 'image/png'; readonly bytes: Buffer };

/**
 * The tasks' results, the job's result and the measured task times, on the connection of the
 * JobStore it hangs off (`store.results`), whose `together` corks it and whose replicated writes
 * (`acks`) it shares: one connection epoch, one last-`WAIT` outcome. A job's end written by the
 * scheduler's reduce (`JobStore.completeJobWith`) is the job's lifecycle and stays on JobStore.
 */
export class ResultStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #acks: ReplicatedWrites;

  constructor(redis: Redis, keys: Keys, acks: ReplicatedWrites) {
    this.#redis = redis;
    this.#keys = keys;
    this.#acks = acks;
    defineScripts(redis);
  }

  /**
   * Stores task results, each already JSON (a worker thread sends its results so), first write
   * wins; when `WAIT` is configured, returns only once the replicas confirm them, and a short
   * count throws NOT_REPLICATED so the tasks are retried.
   * `ending`: the entries are every task of the job (TaskBatch.whole) and this is their reduced
   * result: unless a result of the job was stored before, the job completes with it in the same
   * script (status 'completed'), and the task results are not kept.
   */
  async storeResultJson(
    jobId: string,
    entries: ReadonlyArray<readonly [number, string]>,
    from?: StoredFrom,
    ending?: { readonly result: string | Buffer; readonly ttlSec: number },
  ): Promise<StoredResults> {
    return await this.storePackedResults(jobId, packResults(entries), from, ending);
  }

  /**
   * As storeResultJson, the results packed as a worker thread packs them (result-blobs.ts): the
   * script takes the indices as one argument and the results' JSON as another, and stores that
   * JSON as it came unless another copy stored some of its tasks first.
   */
  async storePackedResults(
    jobId: string,
    results: PackedResults,
    from?: StoredFrom,
    ending?: { readonly result: string | Buffer; readonly ttlSec: number },
  ): Promise<StoredResults> {
    const k = this.#keys;
    const micros = from?.microsPerTask === undefined ? '' : Math.max(1, Math.round(from.microsPerTask));
    const args: Array<string | number | Buffer> = [
      jobId, from?.jobType ?? '', micros, from?.node ?? '', from?.attempt ?? 0, from?.batch?.term ?? 0, from?.batch?.lastIndex ?? 0,
      ending === undefined ? '' : '1', ending?.ttlSec ?? 0, k.events, ending?.result ?? '', results.indices, results.json,
      results.count === 0 ? '' : Math.ceil(results.json.length / results.count),
    ];
    const epoch = this.#acks.epoch;
    const write = () => sendScript<[number, number, JobStatus | 'missing' | 'stale']>(
      this.#redis, 'store-results',
      [k.fence, k.job(jobId), k.results(jobId), k.wake, k.resultsStored, k.taskTimes, k.storedBits(jobId), k.jobResult(jobId), k.active, k.resultSizes],
      args,
    );
    // A duplicate may be an earlier attempt's own write that was never confirmed: the script wrote
    // (the duplicates counter), so this WAIT covers it too.
    const [stored, duplicates, status] = await this.#acks.write(write, epoch, ([s, d, st]) => s > 0 || (d > 0 && st !== 'stale' && st !== 'missing' && !TERMINAL_STATUSES.has(st)));
    return { stored, duplicates, status };
  }

  /** Indices (of those given) that already have a stored result. */
  async storedIndices(jobId: string, indices: readonly number[]): Promise<Set<number>> {
    if (indices.length === 0) return new Set();
    const ops = indices.flatMap((i) => ['GET', 'u1', i]);
    const bits = (await this.#redis.call('BITFIELD_RO', this.#keys.storedBits(jobId), ...ops)) as number[];
    return new Set(indices.filter((_, k) => bits[k] === 1));
  }

  /**
   * The stored result batches as they are in Redis (their form: `assembleResults`), read as bytes
   * into one buffer (ResultBatches): not as strings on this thread's heap, and transferable to the
   * reduce thread without a copy.
   */
  async readResultBatches(id: string): Promise<ResultBatches> {
    const parts: Buffer[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.#redis.hscanBuffer(this.#keys.results(id), cursor, 'COUNT', 100);
      for (let i = 1; i < flat.length; i += 2) parts.push(flat[i] as Buffer);
      cursor = next.toString();
    } while (cursor !== '0');
    return packBatches(parts);
  }

  /** A completed job's result: JSON, or the bytes of an image; undefined when there is none (or it expired). */
  async getResult(id: string, type: ResultType): Promise<JobResultBody | undefined> {
    const key = this.#keys.jobResult(id);
    if (type === 'image/png') {
      const bytes = await this.#redis.getBuffer(key);
      return bytes === null ? undefined : { type, bytes };
    }
    const raw = await this.#redis.get(key);
    return raw === null ? undefined : { type: 'json', value: JSON.parse(raw) };
  }

  /** The measured average run time of one task of this type, µs; undefined before any. */
  async taskMicros(jobType: string): Promise<number | undefined> {
    const v = await this.#redis.hget(this.#keys.taskTimes, jobType);
    return v === null ? undefined : Number(v);
  }

  /** The measured average JSON size of one task's result of this type, bytes (UTF-16 units); undefined before any. */
  async resultBytes(jobType: string): Promise<number | undefined> {
    const v = await this.#redis.hget(this.#keys.resultSizes, jobType);
    return v === null ? undefined : Number(v);
  }

  /**
   * Counts a batch's asks of the node cache (`ctx.cache`) on the job: hits and misses on `node`,
   * and the node's cache size then. Not part of the results' write (no WAIT): a count lost in a
   * failover only understates the job detail.
   */
  async countCache(jobId: string, node: string, counts: { readonly hits: number; readonly misses: number; readonly bytes: number }): Promise<void> {
    const key = this.#keys.job(jobId);
    // Only while the job hash exists: a count must not recreate a deleted job's hash.
    if ((await this.#redis.exists(key)) === 0) return;
    await this.#redis
      .multi()
      .hincrby(key, `cacheHits:${node}`, counts.hits)
      .hincrby(key, `cacheMisses:${node}`, counts.misses)
      .hset(key, `cacheBytes:${node}`, counts.bytes)
      .exec();
  }

  /** Adds `n` to one of the job's placement counters (stolen or speculated tasks, wasted ms), while the job exists. */
  async countPlacement(jobId: string, counter: 'stolenTasks' | 'speculatedTasks' | 'wastedMs', n: number): Promise<void> {
    const key = this.#keys.job(jobId);
    if ((await this.#redis.exists(key)) === 0) return;
    await this.#redis.hincrby(key, counter, Math.round(n));
  }

  /** Results stored cluster-wide since the start (their rate is the cluster's throughput). */
  async storedTotal(): Promise<number> {
    return Number(await this.#redis.get(this.#keys.resultsStored));
  }
}

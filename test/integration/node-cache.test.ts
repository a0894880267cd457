// ctx.cache is one cache per node, shared by its real threads: N threads asking for one key at once load it once.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShardSearchResult, ShardSearchTask } from '../../jobs/shard-search.js';
import { NodeCache } from '../../src/worker/node-cache.js';
import { TaskPool, type BatchRun } from '../../src/worker/task-pool.js';
import type { TaskOutcome } from '../../src/worker/task-runner.js';

const MODULE = fileURLToPath(new URL('../../jobs/shard-search.ts', import.meta.url));
const THREADS = 3;

let pool: TaskPool;
let cache: NodeCache;
beforeAll(() => {
  cache = new NodeCache(64 * 1024);
  pool = new TaskPool({ threads: THREADS, cache });
});
afterAll(async () => {
  await pool?.close();
});

function tasks(shard: number, count: number, extra: Partial<ShardSearchTask> = {}): Array<readonly [number, ShardSearchTask]> {
  return Array.from({ length: count }, (_, part) => [part, { shard, part, parts: count, shardKb: 16, fetchMs: 300, word: 'ring', keyed: true, ...extra }] as const);
}

function run(list: Array<readonly [number, ShardSearchTask]>): Promise<{ outcomes: TaskOutcome[] }> {
  const batch: BatchRun = { modulePath: MODULE, jobId: 'cache-test', attempt: 0, tasks: list, timeoutMs: 30_000, memoryMb: 512, chunk: 1 };
  return pool.run(batch);
}

const results = (outcomes: TaskOutcome[]) => outcomes.map((o) => (o.ok ? (JSON.parse(o.json) as ShardSearchResult) : expect.fail(JSON.stringify(o))));

describe('the node cache behind ctx.cache', () => {
  it('loads a key once for all the threads asking for it at once (single-flight), then serves it from the cache', async () => {
    // Each task asks for the shard before its 300 ms load: the three threads ask while the first loads.
    const first = results((await run(tasks(1, THREADS))).outcomes);
    expect(first.filter((r) => r.built)).toHaveLength(1);
    expect(new Set(first.map((r) => r.matches)).size).toBeGreaterThan(0);
    expect(cache.stats()).toMatchObject({ misses: 1, hits: THREADS - 1, entries: 1 });
    expect(cache.stats().bytes).toBeGreaterThanOrEqual(16 * 1024);

    const again = results((await run(tasks(1, THREADS))).outcomes);
    expect(again.filter((r) => r.built)).toHaveLength(0);
    expect(again.map((r) => r.matches)).toEqual(first.map((r) => r.matches));
    expect(cache.stats()).toMatchObject({ misses: 1, hits: 2 * THREADS - 1 });
  });

  it('keeps at most its byte budget, dropping the least recently used key first', async () => {
    // 16 KiB shards in a 64 KiB cache: after shards 2 … 6 are loaded, shard 1 (least recent) is gone.
    for (let shard = 2; shard <= 6; shard++) await run(tasks(shard, 1));
    expect(cache.stats().bytes).toBeLessThanOrEqual(64 * 1024);
    expect(cache.stats().entries).toBeLessThan(6);
    const reloaded = results((await run(tasks(1, 1))).outcomes);
    expect(reloaded[0]?.built).toBe(true);
  });
});

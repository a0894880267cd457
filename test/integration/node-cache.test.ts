// ctx.cache is one cache per node, shared by its real threads: a key is loaded once per node, not per thread; counted in /metrics and the job detail.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShardSearchResult, ShardSearchTask } from '../../jobs/shard-search.js';
import type { CacheProbeResult, CacheProbeTask } from '../fixtures/jobs/cache-probe.js';
import { startTestNode } from '../helpers/cluster.js';
import { NodeCache } from '../../src/worker/node-cache.js';
import { TaskPool, type BatchRun } from '../../src/worker/task-pool.js';
import type { TaskOutcome } from '../../src/worker/task-runner.js';

const MODULE = fileURLToPath(new URL('../../jobs/shard-search.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('../fixtures/jobs/cache-probe.ts', import.meta.url));
const WHICH_THREAD = fileURLToPath(new URL('../fixtures/jobs/which-thread.ts', import.meta.url));
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
  it('is one per node: a value one thread loaded is what the other threads get, without loading it again', async () => {
    // Two keys, each asked by THREADS tasks claimed one at a time: the threads that run them are
    // told apart by their ids. A cache per thread would load each key once per thread that asks.
    const probe = (key: string, part: number): readonly [number, CacheProbeTask] => [part, { key, loadMs: 200, bytes: 1024 }];
    const list = [...Array.from({ length: THREADS }, (_, i) => probe('probe-a', i)), ...Array.from({ length: THREADS }, (_, i) => probe('probe-b', THREADS + i))];
    const own = new TaskPool({ threads: THREADS, cache: new NodeCache(64 * 1024) }); // a fresh cache: the tests below count from zero
    const probeRun = (tasks: Array<readonly [number, CacheProbeTask]>) => own.run({ modulePath: PROBE, jobId: 'cache-probe-test', attempt: 0, tasks, timeoutMs: 30_000, memoryMb: 512, chunk: 1 });
    let outcomes: TaskOutcome[];
    try {
      // Every thread up and with the module loaded first: on a loaded machine the first thread
      // ready claimed all the tasks while the others were still starting (seen once).
      const seen = new Set<number>();
      for (let round = 0; round < 20 && seen.size < THREADS; round++) {
        const warm = Array.from({ length: THREADS }, (_, i) => [i, { key: `warm-${round}-${i}`, loadMs: 300, bytes: 0 }] as const);
        for (const o of (await probeRun(warm)).outcomes) if (o.ok) seen.add((JSON.parse(o.json) as CacheProbeResult).thread);
      }
      ({ outcomes } = await probeRun(list));
    } finally {
      await own.close();
    }
    const got = outcomes.map((o) => (o.ok ? (JSON.parse(o.json) as CacheProbeResult) : expect.fail(JSON.stringify(o))));
    expect(new Set(got.map((r) => r.thread)).size).toBeGreaterThan(1); // the tasks really ran on several threads
    expect(got.filter((r) => r.built)).toHaveLength(2); // one load per key for the whole node
    expect(got.some((r) => r.loadedBy !== r.thread)).toBe(true); // and other threads got what it loaded
    for (const key of [0, 1]) {
      const mine = got.slice(key * THREADS, (key + 1) * THREADS);
      expect(new Set(mine.map((r) => r.loadedBy)).size).toBe(1);
    }
  });

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

  it('costs a thread call that never asks it no port: the call opens one at its first ask', async () => {
    // This process's open MessagePorts: a port to the cache stays open until the call's release
    // grace (1 s) has passed, so one opened by these calls would still be counted right after.
    const openPorts = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const runOne = (modulePath: string, list: ReadonlyArray<readonly [number, unknown]>) => pool.run({ modulePath, jobId: 'cache-ports', attempt: 0, tasks: list, timeoutMs: 30_000, memoryMb: 512, chunk: 1 });
    await runOne(WHICH_THREAD, [[0, { ms: 0 }]]); // every thread up and the module loaded
    await new Promise((r) => setTimeout(r, 1_500)); // past the grace of any port opened before
    const before = openPorts();
    const plain = await runOne(WHICH_THREAD, Array.from({ length: THREADS }, (_, i) => [i, { ms: 1 }] as const));
    expect(plain.outcomes.every((o) => o.ok)).toBe(true);
    expect(openPorts()).toBe(before);
    // A call that asks the cache has its port (until the grace after the call): one per call that
    // claimed a task (the calls claim the tasks as they go: some may find none left).
    const asking = await runOne(PROBE, Array.from({ length: THREADS }, (_, i) => [i, { key: 'ports', loadMs: 0, bytes: 16 }] as const));
    expect(asking.outcomes.every((o) => o.ok)).toBe(true);
    expect(openPorts()).toBeGreaterThan(before);
    expect(openPorts()).toBeLessThanOrEqual(before + THREADS);
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

describe('cache counts per node', () => {
  it('shows hits, misses and bytes per node in /metrics and in the job detail', async () => {
    const node = await startTestNode({ cacheBytes: 1024 * 1024 }, 'cache-counts');
    try {
      const created = await node.api('/v1/jobs', { body: { job: 'cache-probe', input: { keys: 3, tasksPerKey: 20, loadMs: 20, bytes: 2048 } } });
      const job = await node.waitForJob(created.body.id);
      expect(job.status).toBe('completed');
      const counts = job.cachePerNode['w-cache-counts'];
      // One node: each of the 3 keys is loaded once; the other 57 asks are hits.
      expect(counts).toMatchObject({ misses: 3, hits: 57 });
      expect(counts.bytes).toBeGreaterThanOrEqual(3 * 2048);
      const metrics = (await node.api('/metrics')).body as string;
      const value = (name: string) => Number(new RegExp(`^${name}\\{node="w-cache-counts"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
      expect(value('ringpool_node_cache_hits_total')).toBe(57);
      expect(value('ringpool_node_cache_misses_total')).toBe(3);
      expect(value('ringpool_node_cache_bytes')).toBe(counts.bytes);
    } finally {
      await node.close();
    }
  });
});

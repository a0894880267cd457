// `npm run bench -- placement [--quick] [--json]`: bounded loads under Zipf keys, the node cache with and without keys, a slow node with and without stealing.
import { BENCH_JOBS, hasFlag, withProcessCluster } from './harness.js';
import { formatNumber, printTable, type BenchSuite } from './report.js';
import type { ProcessCluster } from '../test/helpers/process-cluster.js';

/** A job as GET /v1/jobs/:id shows it: the fields this suite reads. */
interface JobView {
  readonly status: string;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly progress: { readonly total: number | null; readonly done: number; readonly duplicates: number };
  readonly tasksPerNode: Record<string, number>;
  readonly cachePerNode: Record<string, { hits: number; misses: number; bytes: number }>;
  readonly stragglers: { stolenTasks: number; speculatedTasks: number; wastedMs: number };
}

const WORKERS = ['w1', 'w2', 'w3'];
/** The node made slow in the straggler runs, and by how much (RINGPOOL_BENCH_SLOWDOWN, bench only). */
const SLOW = { node: 'w3', factor: '4' };

/**
 * Every run's results stored beyond one per task and tasks without a result, summed: both must
 * stay 0. Copies that lost the race (results dropped by first-write-wins) are counted apart.
 */
const integrity = { duplicateResults: 0, lostTasks: 0, droppedCopies: 0 };

async function runJob(c: ProcessCluster, job: string, input: unknown, options: object = {}): Promise<JobView> {
  const { id } = await c.call('/v1/jobs', { body: { job, input, options } });
  const ended = (await c.waitForJobEnd(id, 600_000)) as JobView;
  if (ended.status !== 'completed') throw new Error(`${job} ended ${ended.status}`);
  const total = ended.progress.total ?? 0;
  integrity.duplicateResults += Math.max(0, ended.progress.done - total);
  integrity.lostTasks += Math.max(0, total - ended.progress.done);
  integrity.droppedCopies += ended.progress.duplicates;
  return ended;
}

const makespan = (job: JobView) => (job.finishedAt ?? Date.now()) - job.createdAt;

function maxOverMean(job: JobView): number {
  const counts = WORKERS.map((w) => job.tasksPerNode[w] ?? 0);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  return Math.round((Math.max(...counts) / mean) * 1000) / 1000;
}

function hitRate(job: JobView): number {
  let hits = 0;
  let asks = 0;
  for (const c of Object.values(job.cachePerNode)) {
    hits += c.hits;
    asks += c.hits + c.misses;
  }
  return asks === 0 ? 0 : Math.round((hits / asks) * 1000) / 1000;
}

function cluster<T>(name: string, flags: string[], slow: boolean, fn: (c: ProcessCluster) => Promise<T>): Promise<T> {
  const workers = WORKERS.map((id) => ({ id, threads: 2, ...(slow && id === SLOW.node ? { env: { RINGPOOL_BENCH_SLOWDOWN: SLOW.factor } } : {}) }));
  return withProcessCluster({ name, workers, flags: ['--jobs', BENCH_JOBS, ...flags] }, async (c) => {
    await c.waitFor('three worker nodes', async () => (await c.call('/v1/cluster')).workers.filter((w: { state: string }) => w.state === 'alive').length === 3, 120_000);
    return await fn(c);
  });
}

const suite: BenchSuite = async (args) => {
  const quick = hasFlag(args, 'quick');
  const zipf = { tasks: 20_000, keys: 1_000, s: 1.1 };
  const shards = quick ? { shards: 20, tasksPerShard: 50 } : { shards: 50, tasksPerShard: 100 };
  // Each node's cache holds about 60% of the shards: its own share (a third, plus keys spilled by
  // the load bound) when placed by key, not all of them (tasks come interleaved: LRU then thrashes).
  // 64 KiB shards build in ~10 ms here, plus a 20 ms fetch: a load of ~30 ms.
  const shardKb = 64;
  const cacheBytes = Math.round(shards.shards * 0.6 * shardKb * 1024);
  const spin = { tasks: quick ? 60 : 150, ms: 40 };
  const cacheFlags = ['--cache-bytes', String(cacheBytes)];

  const healthy = await cluster('place-a', [...cacheFlags, '--steal-after-ms', '1000'], false, async (c) => {
    const bounded = await runJob(c, 'zipf-keys', zipf);
    // Different shard sizes: different cache keys, so the second job finds nothing the first kept.
    const keyed = await runJob(c, 'shard-search', { ...shards, shardKb, fetchMs: 20, keyed: true });
    const random = await runJob(c, 'shard-search', { ...shards, shardKb: shardKb + 1, fetchMs: 20, keyed: false });
    const baseline = await runJob(c, 'spin', spin, { batchSize: 1 });
    return { bounded, keyed, random, baseline };
  });
  const stealing = await cluster('place-b', [...cacheFlags, '--steal-after-ms', '1000'], true, async (c) => runJob(c, 'spin', spin, { batchSize: 1 }));
  const plain = await cluster('place-c', [...cacheFlags, '--load-bound', '0', '--steal-after-ms', '0'], true, async (c) => {
    const unbounded = await runJob(c, 'zipf-keys', zipf);
    const slow = await runJob(c, 'spin', spin, { batchSize: 1 });
    return { unbounded, slow };
  });

  const round = (x: number) => Math.round(x * 100) / 100;
  const figures = {
    zipfMaxOverMean: maxOverMean(healthy.bounded),
    zipfMaxOverMeanUnbounded: maxOverMean(plain.unbounded),
    cacheHitRate: hitRate(healthy.keyed),
    cacheHitRateRandom: hitRate(healthy.random),
    cacheKeyedMs: makespan(healthy.keyed),
    cacheRandomMs: makespan(healthy.random),
    cacheSpeedup: round(makespan(healthy.random) / makespan(healthy.keyed)),
    stragglerSlowdown: round(makespan(stealing) / makespan(healthy.baseline)),
    stragglerSlowdownNoStealing: round(makespan(plain.slow) / makespan(healthy.baseline)),
    healthyMakespanMs: makespan(healthy.baseline),
    stolenTasks: stealing.stragglers.stolenTasks,
    speculatedTasks: stealing.stragglers.speculatedTasks,
    wastedMs: stealing.stragglers.wastedMs,
    duplicateResults: integrity.duplicateResults,
    lostTasks: integrity.lostTasks,
    droppedCopies: integrity.droppedCopies,
    quick,
  };
  printTable(`placement: 3 worker nodes × 2 threads${quick ? ' (--quick)' : ''}`, [
    ['figure', 'value', 'target / note'],
    ['zipfMaxOverMean (bounded, c = 1.25)', figures.zipfMaxOverMean, '≤ 1.30'],
    ['zipfMaxOverMeanUnbounded', figures.zipfMaxOverMeanUnbounded, `${formatNumber(zipf.tasks)} tasks, Zipf s = 1.1 over ${zipf.keys} keys`],
    ['cacheHitRate (keyOf by shard)', figures.cacheHitRate, '≥ 0.9'],
    ['cacheHitRateRandom (keyOf by task)', figures.cacheHitRateRandom, `${shards.shards} shards × ${shards.tasksPerShard} tasks, 20 ms fetch`],
    ['cache: keyed / random makespan, ms', `${figures.cacheKeyedMs} / ${figures.cacheRandomMs}`, `×${figures.cacheSpeedup} (≥ 2)`],
    ['stragglerSlowdown (w3 4× slower, stealing)', figures.stragglerSlowdown, `≤ 1.6; stolen ${figures.stolenTasks}, speculated ${figures.speculatedTasks}, wasted ${figures.wastedMs} ms`],
    ['stragglerSlowdownNoStealing', figures.stragglerSlowdownNoStealing, `healthy makespan ${figures.healthyMakespanMs} ms`],
    ['duplicateResults / lostTasks', `${figures.duplicateResults} / ${figures.lostTasks}`, `0 / 0; ${figures.droppedCopies} results of losing copies dropped (first write wins)`],
  ]);
  return figures;
};

export default suite;

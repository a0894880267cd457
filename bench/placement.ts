// `npm run bench -- placement [--quick] [--json] [--only zipf,cache,straggler] [--cache-rounds N] [--cache-share F] [--no-warmup]`: bounded loads under Zipf keys, the node cache with and without keys, a slow node with and without stealing.
import { BENCH_JOBS, hasFlag, numberFlag, stringFlag, withProcessCluster } from './harness.js';
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

function cluster<T>(name: string, flags: string[], slow: boolean, fn: (c: ProcessCluster) => Promise<T>, wanted = true): Promise<T | undefined> {
  if (!wanted) return Promise.resolve(undefined);
  const workers = WORKERS.map((id) => ({ id, threads: 2, ...(slow && id === SLOW.node ? { env: { RINGPOOL_BENCH_SLOWDOWN: SLOW.factor } } : {}) }));
  return withProcessCluster({ name, workers, flags: ['--jobs', BENCH_JOBS, ...flags] }, async (c) => {
    await c.waitFor('three worker nodes', async () => (await c.call('/v1/cluster')).workers.filter((w: { state: string }) => w.state === 'alive').length === 3, 120_000);
    return await fn(c);
  });
}

/** What one cache contender did: its makespan, asks of the caches, and shards built per node. */
interface CacheRun {
  readonly ms: number;
  readonly hitRate: number;
  readonly built: number;
  readonly perNode: Record<string, { tasks: number; hits: number; misses: number; bytes: number }>;
}

/** The parts of the suite: `--only zipf,cache,straggler` runs some of them (default: all). */
const PARTS = ['zipf', 'cache', 'straggler'] as const;
type Part = (typeof PARTS)[number];

function partsOf(args: readonly string[]): ReadonlySet<Part> {
  const only = stringFlag(args, 'only', PARTS.join(','));
  const parts = only.split(',').map((p) => p.trim());
  for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only takes ${PARTS.join(', ')} (comma-separated), got "${p}"`);
  return new Set(parts as Part[]);
}

async function cacheRun(c: ProcessCluster, input: object): Promise<CacheRun> {
  const job = await runJob(c, 'shard-search', input);
  const id = (job as unknown as { id: string }).id;
  const { result } = (await c.call(`/v1/jobs/${id}/result`)) as { result: { shardsBuilt: number } };
  const perNode: CacheRun['perNode'] = {};
  for (const w of WORKERS) perNode[w] = { tasks: job.tasksPerNode[w] ?? 0, ...(job.cachePerNode[w] ?? { hits: 0, misses: 0, bytes: 0 }) };
  return { ms: makespan(job), hitRate: hitRate(job), built: result.shardsBuilt, perNode };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const suite: BenchSuite = async (args) => {
  const quick = hasFlag(args, 'quick');
  const parts = partsOf(args);
  const zipf = { tasks: 20_000, keys: 1_000, s: 1.1 };
  const shards = quick ? { shards: 20, tasksPerShard: 50 } : { shards: 50, tasksPerShard: 100 };
  // Each node's cache holds about 60% of the shards: its own share (a third, plus keys spilled by
  // the load bound) when placed by key, not all of them (tasks come interleaved: LRU then thrashes).
  // 64 KiB shards build in ~6 ms here, plus a 20 ms fetch: a load of ~26 ms, a hit under 1 ms.
  const shardKb = 64;
  // `--cache-share`: another fraction, e.g. 0.25 where a node's keyed share no longer fits.
  const cacheBytes = Math.round(shards.shards * numberFlag(args, 'cache-share', 0.6) * shardKb * 1024);
  const spin = { tasks: quick ? 60 : 150, ms: 40 };
  const cacheFlags = ['--cache-bytes', String(cacheBytes)];
  const rounds = numberFlag(args, 'cache-rounds', 2);

  const healthy = await cluster('place-a', [...cacheFlags, '--steal-after-ms', '1000'], false, async (c) => {
    const bounded = parts.has('zipf') ? await runJob(c, 'zipf-keys', zipf) : undefined;
    const baseline = parts.has('straggler') ? await runJob(c, 'spin', spin, { batchSize: 1 }) : undefined;
    return { bounded, baseline };
  }, parts.has('zipf') || parts.has('straggler'));
  // The cache's own cluster, stealing off: a stolen or speculated copy runs away from its key's
  // node and would count against the cache. A warm-up job first (the job type's task time is
  // measured and its module loaded on every thread), then keyed and random alternating
  // (keyed, random, random, keyed, …), each with shards of its own size: different cache keys, so
  // no job finds what an earlier one kept.
  const cached = !parts.has('cache')
    ? undefined
    : await cluster('place-cache', [...cacheFlags, '--steal-after-ms', '0'], false, async (c) => {
        if (!hasFlag(args, 'no-warmup')) await runJob(c, 'shard-search', { shards: 6, tasksPerShard: 20, shardKb: 1, fetchMs: 20, keyed: true });
        const keyed: CacheRun[] = [];
        const random: CacheRun[] = [];
        let kb = shardKb;
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? [true, false] : [false, true];
          for (const isKeyed of order) (isKeyed ? keyed : random).push(await cacheRun(c, { ...shards, shardKb: kb++, fetchMs: 20, keyed: isKeyed }));
        }
        return { keyed, random };
      });
  const stealing = parts.has('straggler') ? await cluster('place-b', [...cacheFlags, '--steal-after-ms', '1000'], true, async (c) => runJob(c, 'spin', spin, { batchSize: 1 })) : undefined;
  const plain = !(parts.has('zipf') || parts.has('straggler'))
    ? undefined
    : await cluster('place-c', [...cacheFlags, '--load-bound', '0', '--steal-after-ms', '0'], true, async (c) => {
        const unbounded = parts.has('zipf') ? await runJob(c, 'zipf-keys', zipf) : undefined;
        const slow = parts.has('straggler') ? await runJob(c, 'spin', spin, { batchSize: 1 }) : undefined;
        return { unbounded, slow };
      });

  const round = (x: number) => Math.round(x * 100) / 100;
  const ratio = (a: JobView | undefined, b: JobView | undefined) => (a === undefined || b === undefined ? null : round(makespan(a) / makespan(b)));
  const keyedMs = cached === undefined ? null : median(cached.keyed.map((r) => r.ms));
  const randomMs = cached === undefined ? null : median(cached.random.map((r) => r.ms));
  const figures = {
    zipfMaxOverMean: healthy?.bounded === undefined ? null : maxOverMean(healthy.bounded),
    zipfMaxOverMeanUnbounded: plain?.unbounded === undefined ? null : maxOverMean(plain.unbounded),
    cacheHitRate: cached === undefined ? null : median(cached.keyed.map((r) => r.hitRate)),
    cacheHitRateRandom: cached === undefined ? null : median(cached.random.map((r) => r.hitRate)),
    cacheKeyedMs: keyedMs,
    cacheRandomMs: randomMs,
    cacheSpeedup: keyedMs === null || randomMs === null ? null : round(randomMs / keyedMs),
    cacheRuns: cached === undefined ? null : JSON.stringify(cached),
    stragglerSlowdown: ratio(stealing, healthy?.baseline),
    stragglerSlowdownNoStealing: ratio(plain?.slow, healthy?.baseline),
    healthyMakespanMs: healthy?.baseline === undefined ? null : makespan(healthy.baseline),
    stolenTasks: stealing?.stragglers.stolenTasks ?? null,
    speculatedTasks: stealing?.stragglers.speculatedTasks ?? null,
    wastedMs: stealing?.stragglers.wastedMs ?? null,
    duplicateResults: integrity.duplicateResults,
    lostTasks: integrity.lostTasks,
    droppedCopies: integrity.droppedCopies,
    quick,
    parts: [...parts].join(','),
  };
  const rows: (string | number | null)[][] = [['figure', 'value', 'target / note']];
  if (parts.has('zipf')) {
    rows.push(['zipfMaxOverMean (bounded, c = 1.25)', figures.zipfMaxOverMean, '≤ 1.30']);
    rows.push(['zipfMaxOverMeanUnbounded', figures.zipfMaxOverMeanUnbounded, `${formatNumber(zipf.tasks)} tasks, Zipf s = 1.1 over ${zipf.keys} keys`]);
  }
  if (cached !== undefined) {
    const runs = (list: CacheRun[]) => list.map((r) => `${r.ms} ms / ${r.hitRate} / ${r.built} built`).join('; ');
    rows.push(['cacheHitRate (keyOf by shard, median)', figures.cacheHitRate, '≥ 0.9']);
    rows.push(['cacheHitRateRandom (keyOf by task, median)', figures.cacheHitRateRandom, `${shards.shards} shards × ${shards.tasksPerShard} tasks, 20 ms fetch, stealing off`]);
    rows.push(['cache: keyed / random makespan, ms (median)', `${figures.cacheKeyedMs} / ${figures.cacheRandomMs}`, `×${figures.cacheSpeedup} (≥ 2)`]);
    rows.push(['  keyed runs (ms / hit rate / built)', runs(cached.keyed), '']);
    rows.push(['  random runs (ms / hit rate / built)', runs(cached.random), '']);
  }
  if (parts.has('straggler')) {
    rows.push(['stragglerSlowdown (w3 4× slower, stealing)', figures.stragglerSlowdown, `≤ 1.6; stolen ${figures.stolenTasks}, speculated ${figures.speculatedTasks}, wasted ${figures.wastedMs} ms`]);
    rows.push(['stragglerSlowdownNoStealing', figures.stragglerSlowdownNoStealing, `healthy makespan ${figures.healthyMakespanMs} ms`]);
  }
  rows.push(['duplicateResults / lostTasks', `${figures.duplicateResults} / ${figures.lostTasks}`, `0 / 0; ${figures.droppedCopies} results of losing copies dropped (first write wins)`]);
  printTable(`placement: 3 worker nodes × 2 threads${quick ? ' (--quick)' : ''}`, rows as never);
  return figures;
};

export default suite;

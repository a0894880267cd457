// `npm run bench -- placement [--quick] [--json] [--only zipf,cache,stragglers] [--reps N] [--cache-rounds N] [--cache-share F] [--no-warmup]`: bounded loads under Zipf keys, the node cache with and without keys, a slow node with and without stealing.
import { BENCH_JOBS, hasFlag, numberFlag, startTrackedRedis, stringFlag, withProcessCluster } from './harness.js';
import { formatNumber, printTable, type BenchSuite } from './report.js';
import { startProcessCluster, type ProcessCluster } from '../test/helpers/process-cluster.js';
import { killAllSpawned } from '../test/helpers/processes.js';

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
  return withProcessCluster({ name, workers: workersOf(slow), flags: ['--jobs', BENCH_JOBS, ...flags] }, async (c) => {
    await allAlive(c);
    return await fn(c);
  });
}

function workersOf(slow: boolean) {
  return WORKERS.map((id) => ({ id, threads: 2, ...(slow && id === SLOW.node ? { env: { RINGPOOL_BENCH_SLOWDOWN: SLOW.factor } } : {}) }));
}

async function allAlive(c: ProcessCluster): Promise<void> {
  await c.waitFor('three worker nodes', async () => (await c.call('/v1/cluster')).workers.filter((w: { state: string }) => w.state === 'alive').length === 3, 120_000);
}

/** The three straggler clusters, alive together so their runs alternate (the machine's load changes by the minute). */
const STRAGGLER_CLUSTERS = [
  { name: 'healthy', slow: false, stealing: true },
  { name: 'slowStealing', slow: true, stealing: true },
  { name: 'slowNoStealing', slow: true, stealing: false },
] as const;

type StragglerCase = (typeof STRAGGLER_CLUSTERS)[number]['name'];

/** One run of the straggler job on one cluster: what the job detail says of it. */
interface StragglerRun {
  readonly makespanMs: number;
  readonly stolen: number;
  readonly speculated: number;
  readonly wastedMs: number;
  /** Results of losing copies dropped by first-write-wins. */
  readonly dropped: number;
  /** Share of the job's stored results that the slow node (w3) stored. */
  readonly slowShare: number;
}

/**
 * `spin` (wall-clock busy tasks, batchSize 1) on a healthy cluster, on one with w3 4× slow and
 * stealing on, and on one with w3 slow and stealing off (everything else the defaults: bounded
 * loads c = 1.25), the three alive at once and run in turn `reps` times; medians compared.
 */
async function stragglerRuns(quick: boolean, reps: number, stealAfterMs: number, spin: { tasks: number; ms: number }) {
  const started: Array<{ stop: () => Promise<void> }> = [];
  const clusters = new Map<StragglerCase, ProcessCluster>();
  try {
    for (const s of STRAGGLER_CLUSTERS) {
      const { redis, stop: stopRedis } = await startTrackedRedis(`strag-${s.name}`);
      started.push({ stop: stopRedis });
      const flags = ['--jobs', BENCH_JOBS, '--min-replicas', '1', '--steal-after-ms', s.stealing ? String(stealAfterMs) : '0'];
      const c = await startProcessCluster({ redisUrl: redis.masterUrl, workers: workersOf(s.slow), flags });
      started.push({ stop: () => c.stop() });
      clusters.set(s.name, c);
    }
    for (const c of clusters.values()) await allAlive(c);
    // One run on each first, not counted: the job type's task time gets measured, threads start.
    for (const c of clusters.values()) await runJob(c, 'spin', { tasks: 12, ms: spin.ms }, { batchSize: 1 });
    const runs = new Map<StragglerCase, StragglerRun[]>(STRAGGLER_CLUSTERS.map((s) => [s.name, []]));
    for (let r = 0; r < reps; r++) {
      for (const s of STRAGGLER_CLUSTERS) {
        const job = await runJob(clusters.get(s.name) as ProcessCluster, 'spin', spin, { batchSize: 1 });
        const total = job.progress.total ?? 1;
        runs.get(s.name)?.push({
          makespanMs: makespan(job),
          stolen: job.stragglers.stolenTasks,
          speculated: job.stragglers.speculatedTasks,
          wastedMs: job.stragglers.wastedMs,
          dropped: job.progress.duplicates,
          slowShare: Math.round(((job.tasksPerNode[SLOW.node] ?? 0) / total) * 1000) / 1000,
        });
      }
    }
    return { runs, quick };
  } finally {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    killAllSpawned();
  }
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const round = (x: number) => Math.round(x * 100) / 100;

async function stragglerFigures(args: readonly string[], quick: boolean) {
  const spin = { tasks: numberFlag(args, 'spin-tasks', quick ? 150 : 300), ms: 40 };
  const reps = numberFlag(args, 'reps', quick ? 1 : 3);
  const stealAfterMs = numberFlag(args, 'steal-after-ms', 1000);
  const { runs } = await stragglerRuns(quick, reps, stealAfterMs, spin);
  const of = (name: StragglerCase) => runs.get(name) ?? [];
  const med = (name: StragglerCase, f: (r: StragglerRun) => number) => median(of(name).map(f));
  const sum = (name: StragglerCase, f: (r: StragglerRun) => number) => of(name).reduce((a, r) => a + f(r), 0);
  const healthyMs = med('healthy', (r) => r.makespanMs);
  const figures = {
    stragglerSlowdown: round(med('slowStealing', (r) => r.makespanMs) / healthyMs),
    stragglerSlowdownNoStealing: round(med('slowNoStealing', (r) => r.makespanMs) / healthyMs),
    healthyMakespanMs: healthyMs,
    slowStealingMakespanMs: med('slowStealing', (r) => r.makespanMs),
    slowNoStealingMakespanMs: med('slowNoStealing', (r) => r.makespanMs),
    stolenTasks: sum('slowStealing', (r) => r.stolen),
    speculatedTasks: sum('slowStealing', (r) => r.speculated),
    wastedMs: sum('slowStealing', (r) => r.wastedMs),
    droppedCopiesSlow: sum('slowStealing', (r) => r.dropped),
    droppedCopiesHealthy: sum('healthy', (r) => r.dropped),
    stolenTasksHealthy: sum('healthy', (r) => r.stolen),
    speculatedTasksHealthy: sum('healthy', (r) => r.speculated),
    slowShareStealing: med('slowStealing', (r) => r.slowShare),
    slowShareNoStealing: med('slowNoStealing', (r) => r.slowShare),
    /** Every counted run, per cluster (JSON): makespan, stolen, speculated, wasted, dropped, w3's share. */
    stragglerRuns: JSON.stringify(Object.fromEntries(runs)),
    stragglerJob: `spin ${spin.tasks} × ${spin.ms} ms, ${reps} runs each, steal after ${stealAfterMs} ms`,
  };
  const rows: Array<Array<string | number>> = [
    ['stragglerSlowdown (w3 4× slower, stealing)', figures.stragglerSlowdown, `≤ 1.6; median of ${reps}; stolen ${figures.stolenTasks}, speculated ${figures.speculatedTasks}, wasted ${figures.wastedMs} ms, dropped ${figures.droppedCopiesSlow}`],
    ['stragglerSlowdownNoStealing', figures.stragglerSlowdownNoStealing, `healthy makespan ${figures.healthyMakespanMs} ms (${spin.tasks} × ${spin.ms} ms tasks)`],
    ['w3 share of results: stealing / not', `${figures.slowShareStealing} / ${figures.slowShareNoStealing}`, '1/3 = placed by the ring alone'],
    ['healthy cluster: stolen / speculated / dropped', `${figures.stolenTasksHealthy} / ${figures.speculatedTasksHealthy} / ${figures.droppedCopiesHealthy}`, 'work wasted with nothing slow: ≈ 0'],
  ];
  return { figures, rows };
}

/** What one cache contender did: its makespan, asks of the caches, and shards built per node. */
interface CacheRun {
  readonly ms: number;
  readonly hitRate: number;
  readonly built: number;
  readonly perNode: Record<string, { tasks: number; hits: number; misses: number; bytes: number }>;
}

/** The parts of the suite: `--only zipf,cache,stragglers` runs some of them (default: all). */
const PARTS = ['zipf', 'cache', 'stragglers'] as const;
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
  const cacheFlags = ['--cache-bytes', String(cacheBytes)];
  const rounds = numberFlag(args, 'cache-rounds', 2);

  // Bounded loads on a healthy cluster with the defaults; the same job placed by the ring alone (stealing off too).
  const bounded = parts.has('zipf') ? await cluster('place-a', cacheFlags, false, (c) => runJob(c, 'zipf-keys', zipf)) : undefined;
  const unbounded = parts.has('zipf') ? await cluster('place-c', [...cacheFlags, '--load-bound', '0', '--steal-after-ms', '0'], false, (c) => runJob(c, 'zipf-keys', zipf)) : undefined;
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
  const stragglers = parts.has('stragglers') ? await stragglerFigures(args, quick) : undefined;

  const keyedMs = cached === undefined ? null : median(cached.keyed.map((r) => r.ms));
  const randomMs = cached === undefined ? null : median(cached.random.map((r) => r.ms));
  const figures = {
    zipfMaxOverMean: bounded === undefined ? null : maxOverMean(bounded),
    zipfMaxOverMeanUnbounded: unbounded === undefined ? null : maxOverMean(unbounded),
    /** Tasks stolen / copied / dropped in the bounded zipf job (nothing slow there). */
    zipfStolenCopiedDropped: bounded === undefined ? null : `${bounded.stragglers.stolenTasks} / ${bounded.stragglers.speculatedTasks} / ${bounded.progress.duplicates}`,
    cacheHitRate: cached === undefined ? null : median(cached.keyed.map((r) => r.hitRate)),
    cacheHitRateRandom: cached === undefined ? null : median(cached.random.map((r) => r.hitRate)),
    cacheKeyedMs: keyedMs,
    cacheRandomMs: randomMs,
    cacheSpeedup: keyedMs === null || randomMs === null ? null : round(randomMs / keyedMs),
    cacheRuns: cached === undefined ? null : JSON.stringify(cached),
    ...stragglers?.figures,
    ...integrity,
    quick,
    parts: [...parts].join(','),
  };
  const rows: Array<Array<string | number | null>> = [['figure', 'value', 'target / note']];
  if (parts.has('zipf')) {
    rows.push(['zipfMaxOverMean (bounded, c = 1.25)', figures.zipfMaxOverMean, `≤ 1.30; stolen / copied / dropped ${figures.zipfStolenCopiedDropped} (healthy: ≈ 0)`]);
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
  if (stragglers !== undefined) rows.push(...stragglers.rows);
  rows.push(['duplicateResults / lostTasks', `${integrity.duplicateResults} / ${integrity.lostTasks}`, `0 / 0; ${integrity.droppedCopies} results of losing copies dropped (first write wins)`]);
  printTable(`placement: 3 worker nodes × 2 threads${quick ? ' (--quick)' : ''}`, rows as never);
  return figures;
};

export default suite;

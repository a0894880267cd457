// `npm run bench -- placement [--quick] [--only stragglers] [--json]`: bounded loads under Zipf keys, the node cache with and without keys, a slow node with and without stealing.
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

const suite: BenchSuite = async (args) => {
  const quick = hasFlag(args, 'quick');
  const only = stringFlag(args, 'only', 'all');
  if (only !== 'all' && only !== 'stragglers') throw new Error(`--only takes "stragglers", got ${JSON.stringify(only)}`);
  const stragglers = await stragglerFigures(args, quick);
  const tail = [['duplicateResults / lostTasks', `${integrity.duplicateResults} / ${integrity.lostTasks}`, `0 / 0; ${integrity.droppedCopies} results of losing copies dropped (first write wins)`]];
  if (only === 'stragglers') {
    printTable(`placement, stragglers: 3 worker nodes × 2 threads${quick ? ' (--quick)' : ''}`, [['figure', 'value', 'target / note'], ...stragglers.rows, ...tail]);
    return { ...stragglers.figures, ...integrity, quick };
  }
  const zipf = { tasks: 20_000, keys: 1_000, s: 1.1 };
  const shards = quick ? { shards: 20, tasksPerShard: 50 } : { shards: 50, tasksPerShard: 100 };
  // Each node's cache holds about 60% of the shards: its own share (a third, plus keys spilled by
  // the load bound) when placed by key, not all of them (tasks come interleaved: LRU then thrashes).
  // 64 KiB shards build in ~10 ms here, plus a 20 ms fetch: a load of ~30 ms.
  const shardKb = 64;
  const cacheBytes = Math.round(shards.shards * 0.6 * shardKb * 1024);
  const cacheFlags = ['--cache-bytes', String(cacheBytes)];

  // Stealing on in A as in the straggler runs: what it moves and copies with nothing slow is waste.
  const healthy = await cluster('place-a', [...cacheFlags, '--steal-after-ms', String(numberFlag(args, 'steal-after-ms', 1000))], false, async (c) => {
    const bounded = await runJob(c, 'zipf-keys', zipf);
    // Different shard sizes: different cache keys, so the second job finds nothing the first kept.
    const keyed = await runJob(c, 'shard-search', { ...shards, shardKb, fetchMs: 20, keyed: true });
    const random = await runJob(c, 'shard-search', { ...shards, shardKb: shardKb + 1, fetchMs: 20, keyed: false });
    return { bounded, keyed, random };
  });
  const unbounded = await cluster('place-c', [...cacheFlags, '--load-bound', '0'], false, async (c) => runJob(c, 'zipf-keys', zipf));

  const figures = {
    zipfMaxOverMean: maxOverMean(healthy.bounded),
    zipfMaxOverMeanUnbounded: maxOverMean(unbounded),
    cacheHitRate: hitRate(healthy.keyed),
    cacheHitRateRandom: hitRate(healthy.random),
    cacheKeyedMs: makespan(healthy.keyed),
    cacheRandomMs: makespan(healthy.random),
    cacheSpeedup: round(makespan(healthy.random) / makespan(healthy.keyed)),
    /** Tasks stolen / copied in cluster A's zipf and cache jobs (nothing slow there). */
    clusterAStolen: [healthy.bounded, healthy.keyed, healthy.random].reduce((a, j) => a + j.stragglers.stolenTasks, 0),
    clusterASpeculated: [healthy.bounded, healthy.keyed, healthy.random].reduce((a, j) => a + j.stragglers.speculatedTasks, 0),
    clusterADropped: [healthy.bounded, healthy.keyed, healthy.random].reduce((a, j) => a + j.progress.duplicates, 0),
    ...stragglers.figures,
    ...integrity,
    quick,
  };
  printTable(`placement: 3 worker nodes × 2 threads${quick ? ' (--quick)' : ''}`, [
    ['figure', 'value', 'target / note'],
    ['zipfMaxOverMean (bounded, c = 1.25)', figures.zipfMaxOverMean, '≤ 1.30'],
    ['zipfMaxOverMeanUnbounded', figures.zipfMaxOverMeanUnbounded, `${formatNumber(zipf.tasks)} tasks, Zipf s = 1.1 over ${zipf.keys} keys`],
    ['cacheHitRate (keyOf by shard)', figures.cacheHitRate, '≥ 0.9'],
    ['cacheHitRateRandom (keyOf by task)', figures.cacheHitRateRandom, `${shards.shards} shards × ${shards.tasksPerShard} tasks, 20 ms fetch`],
    ['cache: keyed / random makespan, ms', `${figures.cacheKeyedMs} / ${figures.cacheRandomMs}`, `×${figures.cacheSpeedup} (≥ 2)`],
    ['cluster A (zipf, cache jobs): stolen / speculated / dropped', `${figures.clusterAStolen} / ${figures.clusterASpeculated} / ${figures.clusterADropped}`, 'healthy: ≈ 0'],
    ...stragglers.rows,
    ...tail,
  ]);
  return figures;
};

export default suite;

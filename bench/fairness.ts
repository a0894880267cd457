// `npm run bench -- fairness [--json] [--quick]`: fair share between jobs (docs/tenants.md): a small job behind a big backlog, shares of equal and weighted jobs, the big job's slowdown.
import { startBenchCluster, BENCH_JOBS, hasFlag, numberFlag, type BenchCluster } from './harness.js';
import { printTable, quantile, type BenchSuite } from './report.js';
import { fileURLToPath } from 'node:url';

/** The test fixture jobs: `paced`, whose tasks take a set time (sleeping or spinning). */
const FIXTURE_JOBS = fileURLToPath(new URL('../test/fixtures/jobs', import.meta.url));

/** Each task sleeps this long in its thread: the threads are slots, so the 2-core machine's CPU is not what is shared. */
const TASK_MS = 10;
const SMALL = { tasks: 20, ms: TASK_MS, sleep: true };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const suite: BenchSuite = async (args) => {
  const quick = hasFlag(args, 'quick');
  const runs = numberFlag(args, 'runs', quick ? 7 : 21);
  const windowMs = numberFlag(args, 'window-ms', quick ? 4_000 : 20_000);
  const bigTasks = numberFlag(args, 'big-tasks', quick ? 800 : 4_000);
  const cluster = await startBenchCluster({ threads: 4, jobsDirs: [BENCH_JOBS, FIXTURE_JOBS] });
  try {
    const submitToResult = async () => {
      const started = performance.now();
      const id = await cluster.submit('paced', SMALL);
      const end = await cluster.wait(id, 5);
      if (end.status !== 'completed') throw new Error(`small job ${id} ${end.status}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 3; i++) await submitToResult(); // the job type's task time measured, threads warm
    const alone: number[] = [];
    for (let i = 0; i < runs; i++) alone.push(await submitToResult());

    // Behind a backlog of ≥ 100,000 tasks waiting (another job, same weight).
    const big = await cluster.submit('paced', { tasks: 1_000_000, ms: TASK_MS, sleep: true, label: 'backlog' });
    await untilDone(cluster, [big], 100);
    const behind: number[] = [];
    for (let i = 0; i < runs; i++) behind.push(await submitToResult());
    await cancel(cluster, big);

    const equal = await shares(cluster, [5, 5, 5, 5], windowMs);
    const weighted = await shares(cluster, [1, 2, 3, 4], windowMs);
    const expected = [1, 2, 3, 4].map((w) => w / 10);
    const weightedShareError = Math.max(...weighted.map((s, i) => Math.abs(s - (expected[i] as number)) / (expected[i] as number)));

    // The big job's makespan alone, then with a small job submitted every 2 s meanwhile (a few users asking small questions; the small jobs' own work is 2.5% of the pool).
    const bigAlone = await makespan(cluster, bigTasks, false);
    const bigShared = await makespan(cluster, bigTasks, true);

    const ms = (n: number) => Number(n.toFixed(1));
    const figures = {
      smallAloneP50Ms: ms(quantile(alone, 0.5)),
      smallBehindBigP50Ms: ms(quantile(behind, 0.5)),
      smallBehindTargetMs: ms(3 * quantile(alone, 0.5) + 100),
      jainIndex: Number(jain(equal).toFixed(4)),
      weightedShareError: Number(weightedShareError.toFixed(4)),
      bigJobSlowdown: Number((bigShared / bigAlone).toFixed(3)),
      crossTenantReads: null,
      runs,
      windowMs,
    };
    printTable(`fairness: ${SMALL.tasks}-task jobs of ${TASK_MS} ms tasks, 4 threads; shares over ${windowMs} ms`, [
      ['figure', 'value', 'target'],
      ['small job alone, p50 ms', figures.smallAloneP50Ms, ''],
      ['small job behind a 1,000,000-task backlog, p50 ms', figures.smallBehindBigP50Ms, `<= ${figures.smallBehindTargetMs}`],
      ['Jain index, four equal jobs', figures.jainIndex, '>= 0.95'],
      [`shares at weights 1:2:3:4 (${weighted.map((s) => s.toFixed(3)).join(' ')}), max relative error`, figures.weightedShareError, '<= 0.1'],
      [`big job (${bigTasks} tasks) makespan with small jobs / alone`, figures.bigJobSlowdown, '<= 1.1'],
      ['cross-tenant reads (tenants branch)', 'null', '0'],
    ]);
    return figures;
  } finally {
    await cluster.close();
  }
};

/** Run-time shares of jobs of these priorities (all with big backlogs) over `windowMs`, after they all run. */
async function shares(cluster: BenchCluster, priorities: readonly number[], windowMs: number): Promise<number[]> {
  const ids: string[] = [];
  for (const priority of priorities) ids.push(await cluster.submit('paced', { tasks: 1_000_000, ms: TASK_MS, sleep: true }, { priority }));
  await untilDone(cluster, ids, 100);
  await sleep(1_000); // past the opening enqueues
  const before = await doneOf(cluster, ids);
  await sleep(windowMs);
  const after = await doneOf(cluster, ids);
  await Promise.all(ids.map((id) => cancel(cluster, id)));
  await sleep(500);
  const ran = after.map((d, i) => d - (before[i] as number)); // equal task times: tasks are run-time
  const total = ran.reduce((a, b) => a + b, 0);
  return ran.map((r) => r / total);
}

/** Jain's fairness index: 1 when every share is equal, 1/n when one has all. */
function jain(xs: readonly number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  return (sum * sum) / (xs.length * xs.reduce((a, b) => a + b * b, 0));
}

async function makespan(cluster: BenchCluster, tasks: number, withSmall: boolean): Promise<number> {
  const started = performance.now();
  const id = await cluster.submit('paced', { tasks, ms: TASK_MS, sleep: true });
  let ended = false;
  const smalls = withSmall
    ? (async () => {
        while (!ended) {
          await cluster.submit('paced', SMALL);
          await sleep(2_000);
        }
      })()
    : Promise.resolve();
  const end = await cluster.wait(id, 10);
  const took = performance.now() - started;
  ended = true;
  await smalls;
  if (end.status !== 'completed') throw new Error(`big job ${id} ${end.status}`);
  return took;
}

async function doneOf(cluster: BenchCluster, ids: readonly string[]): Promise<number[]> {
  return await Promise.all(ids.map(async (id) => ((await (await fetch(`${cluster.url}/v1/jobs/${id}`)).json()) as { progress: { done: number } }).progress.done));
}

async function untilDone(cluster: BenchCluster, ids: readonly string[], done: number): Promise<void> {
  while ((await doneOf(cluster, ids)).some((d) => d < done)) await sleep(50);
}

async function cancel(cluster: BenchCluster, id: string): Promise<void> {
  const res = await fetch(`${cluster.url}/v1/jobs/${id}`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`cancelling job ${id}: ${res.status}`);
}

export default suite;

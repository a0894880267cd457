// `npm run bench -- fairness [--json] [--quick] [--only weighted]`: fair share between jobs (docs/tenants.md): a small job behind a big backlog, shares of equal and weighted jobs, the big job's slowdown.
import { startBenchCluster, BENCH_JOBS, hasFlag, numberFlag, stringFlag, type BenchCluster } from './harness.js';
import { printTable, quantile, type BenchSuite } from './report.js';
import { fileURLToPath } from 'node:url';

/** The test fixture jobs: `paced`, whose tasks take a set time (sleeping or spinning). */
const FIXTURE_JOBS = fileURLToPath(new URL('../test/fixtures/jobs', import.meta.url));

/** Each task sleeps this long in its thread: the threads are slots, so the 2-core machine's CPU is not what is shared. */
const TASK_MS = 10;
const SMALL = { tasks: 20, ms: TASK_MS, sleep: true };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tenants of the run (docs/tenants.md): four of weight 1 for the equal shares, four of weights 1:2:3:4, and the big job's and small jobs' own. */
const EQUAL = ['e1', 'e2', 'e3', 'e4'];
const WEIGHTED = ['w1', 'w2', 'w3', 'w4'];
const tenant = (weight: number) => ({ weight, webhooks: [] });
const TENANTS = { default: tenant(1), big: tenant(1), small: tenant(1), ...Object.fromEntries(EQUAL.map((t) => [t, tenant(1)])), ...Object.fromEntries(WEIGHTED.map((t, i) => [t, tenant(i + 1)])) };
/** Each tenant's token (submit and read, no admin); the harness itself uses the admin token. */
const tokenOf = (tenant: string) => `bench-fairness-${tenant}-token`;
const ADMIN = 'bench-fairness-admin-token';

const suite: BenchSuite = async (args) => {
  const quick = hasFlag(args, 'quick');
  const runs = numberFlag(args, 'runs', quick ? 7 : 21);
  const windowMs = numberFlag(args, 'window-ms', quick ? 4_000 : 20_000);
  const bigTasks = numberFlag(args, 'big-tasks', quick ? 800 : 4_000);
  const apiTokens = [ADMIN, ...Object.keys(TENANTS).map((t) => `${tokenOf(t)}:submit+read@${t}`)];
  const cluster = await startBenchCluster({ threads: 4, jobsDirs: [BENCH_JOBS, FIXTURE_JOBS], apiTokens, tenants: TENANTS }, { token: ADMIN });
  try {
    // `--only weighted`: just the weighted shares, for A/B runs of the fair-share rule (a minute instead of four).
    if (stringFlag(args, 'only', '') === 'weighted') {
      const weighted = await shares(cluster, WEIGHTED, windowMs);
      const figures = { weightedShareError: Number(shareError(weighted.shares).toFixed(4)), weightedShares: weighted.shares.map((s) => s.toFixed(3)).join(' '), windowMs };
      printTable(`fairness, weighted shares only: tenants of weights 1:2:3:4 over ${windowMs} ms`, [
        ['figure', 'value', 'target'],
        [`shares (${figures.weightedShares}), max relative error`, figures.weightedShareError, '<= 0.1'],
      ]);
      return figures;
    }
    const submitToResult = async () => {
      const started = performance.now();
      const id = await submitAs(cluster, 'small', 'paced', SMALL);
      const end = await cluster.wait(id, 5);
      if (end.status !== 'completed') throw new Error(`small job ${id} ${end.status}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 3; i++) await submitToResult(); // the job type's task time measured, threads warm
    const alone: number[] = [];
    for (let i = 0; i < runs; i++) alone.push(await submitToResult());

    // Behind a backlog of ≥ 100,000 tasks waiting (another job, same weight).
    const big = await submitAs(cluster, 'big', 'paced', { tasks: 1_000_000, ms: TASK_MS, sleep: true, label: 'backlog' });
    await untilDone(cluster, [big], 100);
    const behind: number[] = [];
    for (let i = 0; i < runs; i++) behind.push(await submitToResult());
    await cancel(cluster, big);

    const equal = await shares(cluster, EQUAL, windowMs);
    const weighted = await shares(cluster, WEIGHTED, windowMs);
    const crossTenantReads = await crossReads(cluster, [...equal.ids, ...weighted.ids]);
    const weightedShareError = shareError(weighted.shares);

    // The big job's makespan alone, then with a small job submitted every 2 s meanwhile (a few users asking small questions; the small jobs' own work is 2.5% of the pool).
    const bigAlone = await makespan(cluster, bigTasks, false);
    const bigShared = await makespan(cluster, bigTasks, true);

    const ms = (n: number) => Number(n.toFixed(1));
    const figures = {
      smallAloneP50Ms: ms(quantile(alone, 0.5)),
      smallBehindBigP50Ms: ms(quantile(behind, 0.5)),
      smallBehindTargetMs: ms(3 * quantile(alone, 0.5) + 100),
      jainIndex: Number(jain(equal.shares).toFixed(4)),
      weightedShareError: Number(weightedShareError.toFixed(4)),
      bigJobSlowdown: Number((bigShared / bigAlone).toFixed(3)),
      crossTenantReads: crossTenantReads.answered,
      runs,
      windowMs,
    };
    printTable(`fairness: ${SMALL.tasks}-task jobs of ${TASK_MS} ms tasks, 4 threads; shares over ${windowMs} ms`, [
      ['figure', 'value', 'target'],
      ['small job alone, p50 ms', figures.smallAloneP50Ms, ''],
      ['small job behind a 1,000,000-task backlog, p50 ms', figures.smallBehindBigP50Ms, `<= ${figures.smallBehindTargetMs}`],
      ['Jain index, four tenants of equal weight', figures.jainIndex, '>= 0.95'],
      [`shares of tenants of weights 1:2:3:4 (${weighted.shares.map((s) => s.toFixed(3)).join(' ')}), max relative error`, figures.weightedShareError, '<= 0.1'],
      [`big job (${bigTasks} tasks) makespan with small jobs / alone`, figures.bigJobSlowdown, '<= 1.1'],
      [`requests for another tenant's jobs not answered 404 (of ${crossTenantReads.asked})`, crossTenantReads.answered, '0'],
    ]);
    return figures;
  } finally {
    await cluster.close();
  }
};

/** Run-time shares of one job of each tenant (all with big backlogs, default priority) over `windowMs`, after they all run. */
async function shares(cluster: BenchCluster, tenants: readonly string[], windowMs: number): Promise<{ shares: number[]; ids: Array<[tenant: string, id: string]> }> {
  const ids: string[] = [];
  for (const tenant of tenants) ids.push(await submitAs(cluster, tenant, 'paced', { tasks: 1_000_000, ms: TASK_MS, sleep: true }));
  await untilDone(cluster, ids, 100);
  await sleep(1_000); // past the opening enqueues
  const before = await doneOf(cluster, ids);
  await sleep(windowMs);
  const after = await doneOf(cluster, ids);
  await Promise.all(ids.map((id) => cancel(cluster, id)));
  await sleep(500);
  const ran = after.map((d, i) => d - (before[i] as number)); // equal task times: tasks are run-time
  const total = ran.reduce((a, b) => a + b, 0);
  return { shares: ran.map((r) => r / total), ids: ids.map((id, i) => [tenants[i] as string, id]) };
}

/** Submits as `tenant` (its own token): the job belongs to that tenant. */
async function submitAs(cluster: BenchCluster, tenant: string, job: string, input: unknown): Promise<string> {
  const res = await fetch(`${cluster.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(tenant)}` }, body: JSON.stringify({ job, input }) });
  const body = (await res.json()) as { id?: string };
  if (!res.ok || body.id === undefined) throw new Error(`submit as ${tenant}: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

/**
 * Every job asked for by every other tenant's token (read, result, events, cancel, retry) and
 * looked for in their lists: what did not answer 404, or showed up in a list, is a cross-tenant read.
 */
async function crossReads(cluster: BenchCluster, jobs: ReadonlyArray<[tenant: string, id: string]>): Promise<{ asked: number; answered: number }> {
  let asked = 0;
  let answered = 0;
  const tenants = [...new Set(jobs.map(([t]) => t))];
  for (const reader of tenants) {
    const headers = { authorization: `Bearer ${tokenOf(reader)}` };
    const listed = ((await (await fetch(`${cluster.url}/v1/jobs?limit=100`, { headers })).json()) as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id);
    for (const [owner, id] of jobs) {
      if (owner === reader) continue;
      asked++;
      if (listed.includes(id)) answered++;
      for (const [method, path] of [['GET', ''], ['GET', '/result'], ['GET', '/events'], ['DELETE', ''], ['POST', '/retry']] as const) {
        asked++;
        const res = await fetch(`${cluster.url}/v1/jobs/${id}${path}`, { method, headers });
        await res.body?.cancel();
        if (res.status !== 404) answered++;
      }
    }
  }
  return { asked, answered };
}

/** The largest relative error of shares against weights 1:2:3:4. */
function shareError(shares: readonly number[]): number {
  const expected = [1, 2, 3, 4].map((w) => w / 10);
  return Math.max(...shares.map((s, i) => Math.abs(s - (expected[i] as number)) / (expected[i] as number)));
}

/** Jain's fairness index: 1 when every share is equal, 1/n when one has all. */
function jain(xs: readonly number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  return (sum * sum) / (xs.length * xs.reduce((a, b) => a + b * b, 0));
}

async function makespan(cluster: BenchCluster, tasks: number, withSmall: boolean): Promise<number> {
  const started = performance.now();
  const id = await submitAs(cluster, 'big', 'paced', { tasks, ms: TASK_MS, sleep: true });
  let ended = false;
  const smalls = withSmall
    ? (async () => {
        while (!ended) {
          await submitAs(cluster, 'small', 'paced', SMALL);
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
  return await Promise.all(ids.map(async (id) => ((await (await fetch(`${cluster.url}/v1/jobs/${id}`, { headers: cluster.headers })).json()) as { progress: { done: number } }).progress.done));
}

async function untilDone(cluster: BenchCluster, ids: readonly string[], done: number): Promise<void> {
  while ((await doneOf(cluster, ids)).some((d) => d < done)) await sleep(50);
}

async function cancel(cluster: BenchCluster, id: string): Promise<void> {
  const res = await fetch(`${cluster.url}/v1/jobs/${id}`, { method: 'DELETE', headers: cluster.headers });
  if (!res.ok) throw new Error(`cancelling job ${id}: ${res.status}`);
}

export default suite;

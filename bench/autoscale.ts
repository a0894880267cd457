// `npm run bench -- autoscale [--quick] [--json]`: `ringpool start --workers auto` from zero nodes, a burst, idle; then the same burst on a fixed pool.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WireClusterView, WireJobDetail } from '../src/api/wire.js';
import { freePort } from '../src/store/local-redis.js';
import { spawnRingpool, type Spawned } from '../test/helpers/processes.js';
import { hasFlag, numberFlag } from './harness.js';
import { printTable, type BenchSuite } from './report.js';

const FIXTURE_JOBS = fileURLToPath(new URL('../test/fixtures/jobs', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Burst {
  readonly jobs: number;
  readonly tasks: number;
  readonly ms: number;
}

/** `ringpool_duplicate_results_total` in a node's /metrics: results its tasks produced that were already stored (first write wins). */
async function duplicateCounter(nodeUrl: string): Promise<number | undefined> {
  const res = await fetch(`${nodeUrl}/metrics`, { signal: AbortSignal.timeout(1_000) });
  const line = /^ringpool_duplicate_results_total (\d+)/m.exec(await res.text());
  return line === null ? undefined : Number(line[1]);
}

/** One `ringpool start` with its own Redis pair, and a sampler of its cluster view every 100 ms. */
class Run {
  readonly samples: Array<{ at: number; view: WireClusterView }> = [];
  /** Each worker node's URL (from its log) and the highest `ringpool_duplicate_results_total` read from it. */
  readonly #nodes = new Map<string, { url: string; duplicates: number }>();
  #stop = false;
  #loop: Promise<void> | undefined;
  #scrapes: Promise<void> | undefined;

  private constructor(
    readonly server: Spawned,
    readonly url: string,
    readonly dir: string,
  ) {}

  static async start(flags: string[]): Promise<Run> {
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-bench-autoscale-'));
    const port = await freePort();
    const server = spawnRingpool(['start', '--port', String(port), '--data-dir', dir, '--jobs', FIXTURE_JOBS, '--threads', '1', '--log-level', 'info', ...flags]);
    const [, url] = await server.waitFor(/running at (http:\S+)/, 120_000);
    const run = new Run(server, url as string, dir);
    run.#loop = run.#sample();
    run.#scrapes = run.#scrapeNodes();
    return run;
  }

  /**
   * Reads every worker node's duplicate counter every 250 ms while it runs: a drained node exits,
   * so its count is what was read last (the job records' `duplicates`, which every store counts
   * too, cover what a node did after that read; see `tally`).
   */
  async #scrapeNodes(): Promise<void> {
    const logs = join(this.dir, 'logs');
    while (!this.#stop) {
      await this.readDuplicateCounters(logs);
      await sleep(250);
    }
  }

  async readDuplicateCounters(logs = join(this.dir, 'logs')): Promise<void> {
    for (const file of existsSync(logs) ? readdirSync(logs) : []) {
      const id = file.replace(/\.log$/, '');
      if (this.#nodes.has(id)) continue;
      const serving = /serving \/healthz at (http:\S+)/.exec(readFileSync(join(logs, file), 'utf8'));
      if (serving !== null) this.#nodes.set(id, { url: serving[1] as string, duplicates: 0 });
    }
    await Promise.all(
      [...this.#nodes.values()].map(async (n) => {
        const count = await duplicateCounter(n.url).catch(() => undefined); // gone: drained
        if (count !== undefined) n.duplicates = Math.max(n.duplicates, count);
      }),
    );
  }

  /** `ringpool_duplicate_results_total` summed over every node this run had, drained ones included. */
  get nodeDuplicates(): number {
    return [...this.#nodes.values()].reduce((sum, n) => sum + n.duplicates, 0);
  }

  get nodesSeen(): number {
    return this.#nodes.size;
  }

  async #sample(): Promise<void> {
    while (!this.#stop) {
      const view = await this.cluster().catch(() => undefined);
      if (view !== undefined) this.samples.push({ at: Date.now(), view });
      await sleep(100);
    }
  }

  async cluster(): Promise<WireClusterView> {
    return (await (await fetch(`${this.url}/v1/cluster`)).json()) as WireClusterView;
  }

  async until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 120_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await Promise.resolve(probe()).catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  /** Submits the burst; resolves with the submit time, the first task's start and each job's end. */
  async burst(b: Burst): Promise<{ submittedAt: number; firstTaskAt: number; endedAt: number; jobs: WireJobDetail[] }> {
    const submittedAt = Date.now();
    const ids = await Promise.all(
      Array.from({ length: b.jobs }, async () => {
        const res = await fetch(`${this.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'spin', input: { tasks: b.tasks, ms: b.ms }, options: { batchSize: 1 } }) });
        return ((await res.json()) as { id: string }).id;
      }),
    );
    // First task running: a thread busy in a heartbeat, or a result already stored (whichever is seen first).
    const firstTaskAt = await this.until('the first task to run', async () => {
      const view = await this.cluster();
      if (view.workers.some((w) => w.busy > 0)) return Date.now();
      const done = await Promise.all(ids.map(async (id) => ((await (await fetch(`${this.url}/v1/jobs/${id}`)).json()) as WireJobDetail).progress.done));
      return done.some((d) => d > 0) ? Date.now() : undefined;
    });
    const jobs = await this.until('the burst to end', async () => {
      const all = await Promise.all(ids.map(async (id) => (await (await fetch(`${this.url}/v1/jobs/${id}`)).json()) as WireJobDetail));
      return all.every((j) => j.status === 'completed' || j.status === 'failed') ? all : undefined;
    }, 600_000);
    return { submittedAt, firstTaskAt, endedAt: Date.now(), jobs };
  }

  /** Worker-node seconds with no busy thread between `from` and `to` (threads 1: alive − busy per sample). */
  idleNodeSeconds(from: number, to: number): number {
    let idle = 0;
    const within = this.samples.filter((s) => s.at >= from && s.at <= to);
    for (let i = 1; i < within.length; i++) {
      const prev = within[i - 1]!;
      const alive = prev.view.workers.filter((w) => w.state === 'alive');
      idle += (alive.reduce((sum, w) => sum + Math.max(0, w.threads - w.busy) / w.threads, 0) * (within[i]!.at - prev.at)) / 1000;
    }
    return idle;
  }

  alive(at = this.samples.at(-1)): number {
    return at?.view.workers.filter((w) => w.state === 'alive').length ?? 0;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#loop;
    await this.#scrapes;
    this.server.child.kill('SIGTERM');
    await this.server.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Tasks of the burst not completed (a failed job's, or a completed job's short count), and results
 * produced again for a task already stored: what the workers counted in `ringpool_duplicate_results_total`
 * (every node's, drained ones included), or what the job records counted (`progress.duplicates`,
 * HINCRBY'd by the same store script), whichever is more. `done` cannot show a duplicate: first
 * write wins, so it never exceeds the task count.
 */
function tally(jobs: readonly WireJobDetail[], b: Burst, run: Run): { lostTasks: number; duplicateResults: number; byNodes: number; byJobs: number } {
  let lost = 0;
  let byJobs = 0;
  for (const j of jobs) {
    lost += Math.max(0, b.tasks - j.progress.done);
    byJobs += j.progress.duplicates;
  }
  const byNodes = run.nodeDuplicates;
  return { lostTasks: lost, duplicateResults: Math.max(byNodes, byJobs), byNodes, byJobs };
}

const suite: BenchSuite = async (args) => {
  const quick = hasFlag(args, 'quick');
  const maxWorkers = numberFlag(args, 'max-workers', 3);
  const burst: Burst = { jobs: numberFlag(args, 'jobs', quick ? 3 : 6), tasks: numberFlag(args, 'tasks', quick ? 60 : 150), ms: numberFlag(args, 'task-ms', 50) };
  const idleMs = numberFlag(args, 'scale-down-idle-ms', 2000);
  const targetDrainMs = numberFlag(args, 'target-drain-ms', 2000);

  // ---- autoscaled: from zero --------------------------------------------------------------------
  const auto = await Run.start(['--workers', 'auto', '--max-workers', String(maxWorkers), '--scale-down-idle-ms', String(idleMs), '--target-drain-ms', String(targetDrainMs), '--lease-ms', '1000']);
  let a;
  try {
    await auto.until('the leader to report an idle backlog', async () => ((await auto.cluster()).autoscale?.reason === 'idle' ? true : undefined));
    // At rest from zero: the parked standby processes have loaded (their logs say so).
    const logs = join(auto.dir, 'logs');
    await auto.until('the standby processes to park', () => (readdirSync(logs).filter((f) => readFileSync(join(logs, f), 'utf8').includes('standby: loaded')).length >= Math.min(2, maxWorkers) ? true : undefined));
    a = await auto.burst(burst);
    const desiredTwoAt = auto.samples.find((s) => s.at >= a!.submittedAt && (s.view.autoscale?.desired ?? 0) >= 2)?.at;
    // A node takes tasks from the first sample that shows it busy or with tasks queued on it; the second such node's time.
    const takingSince = new Map<string, number>();
    for (const s of auto.samples.filter((x) => x.at >= a!.submittedAt)) {
      for (const w of s.view.workers) if (!takingSince.has(w.id) && w.state === 'alive' && (w.busy > 0 || (s.view.autoscale?.queuedTasks[w.id] ?? 0) > 0)) takingSince.set(w.id, s.at);
    }
    const twoTakingAt = [...takingSince.values()].sort((x, y) => x - y)[1];
    const peakNodes = Math.max(...auto.samples.filter((s) => s.at >= a!.submittedAt).map((s) => auto.alive(s)));
    // The counters of the nodes still up (a drained one was read while it ran).
    await auto.readDuplicateCounters();
    const counted = tally(a.jobs, burst, auto);
    const downAt = await auto.until('back to zero worker nodes', () => (auto.samples.at(-1)!.at > a!.endedAt && auto.alive() === 0 ? auto.samples.at(-1)!.at : undefined), 120_000);
    a = { ...a, peakNodes, scaleUpMs: desiredTwoAt !== undefined && twoTakingAt !== undefined ? Math.max(0, twoTakingAt - desiredTwoAt) : NaN, scaleDownMs: downAt - a.endedAt, idle: auto.idleNodeSeconds(a.submittedAt, downAt), tally: counted, nodesRead: auto.nodesSeen };
  } finally {
    await auto.stop();
  }

  // ---- fixed: peakNodes nodes all along ----------------------------------------------------------
  const fixed = await Run.start(['--workers', String(a.peakNodes), '--lease-ms', '1000']);
  let f;
  try {
    await fixed.until(`${a.peakNodes} alive worker nodes`, () => (fixed.alive() === a!.peakNodes ? true : undefined));
    f = await fixed.burst(burst);
    // The same window as the autoscaled run: the burst, then as long idle as the autoscaler took to get back to zero.
    await sleep(a.scaleDownMs);
    await fixed.readDuplicateCounters();
    f = { ...f, idle: fixed.idleNodeSeconds(f.submittedAt, Date.now()), tally: tally(f.jobs, burst, fixed), nodesRead: fixed.nodesSeen };
  } finally {
    await fixed.stop();
  }

  const makespanAuto = a.endedAt - a.submittedAt;
  const makespanFixed = f.endedAt - f.submittedAt;
  const figures = {
    coldStartMs: a.firstTaskAt - a.submittedAt,
    scaleUpMs: a.scaleUpMs,
    scaleDownMs: a.scaleDownMs,
    peakNodes: a.peakNodes,
    lostTasks: a.tally.lostTasks + f.tally.lostTasks,
    duplicateResults: a.tally.duplicateResults + f.tally.duplicateResults,
    // Worker nodes whose ringpool_duplicate_results_total was read (both runs): 0 would mean the counters were not read at all.
    duplicateCounterNodes: a.nodesRead + f.nodesRead,
    makespanAutoMs: makespanAuto,
    makespanFixedMs: makespanFixed,
    makespanVsFixed: Number((makespanAuto / makespanFixed).toFixed(3)),
    idleNodeSecondsAuto: Number(a.idle.toFixed(2)),
    idleNodeSecondsFixed: Number(f.idle.toFixed(2)),
    burstJobs: burst.jobs,
    burstTasks: burst.jobs * burst.tasks,
    taskMs: burst.ms,
  };
  printTable(`autoscale: ${burst.jobs} jobs × ${burst.tasks} tasks × ${burst.ms} ms from zero nodes (--workers auto, max ${maxWorkers}, 1 thread each), then idle; baseline: a fixed pool of ${a.peakNodes}`, [
    ['', 'autoscaled', `fixed ${a.peakNodes}`, 'target'],
    ['submit → first task running (cold start), ms', figures.coldStartMs, f.firstTaskAt - f.submittedAt, '≤ 2000'],
    ['desired ≥ 2 → a second node taking tasks, ms', figures.scaleUpMs, '', ''],
    ['burst end → back to zero nodes, ms', figures.scaleDownMs, '', ''],
    ['makespan, ms', makespanAuto, makespanFixed, `ratio ${figures.makespanVsFixed} ≤ 1.3`],
    ['idle node-seconds (burst + idle tail)', figures.idleNodeSecondsAuto, figures.idleNodeSecondsFixed, ''],
    ['tasks lost / results produced twice', `${a.tally.lostTasks} / ${a.tally.duplicateResults}`, `${f.tally.lostTasks} / ${f.tally.duplicateResults}`, '0 / 0'],
    ['  duplicates: node counters (nodes read) / job records', `${a.tally.byNodes} (${a.nodesRead}) / ${a.tally.byJobs}`, `${f.tally.byNodes} (${f.nodesRead}) / ${f.tally.byJobs}`, ''],
  ]);
  return figures;
};

export default suite;

// The chaos run: a `cluster up` cluster, a client and a nemesis at once for N minutes, then a heal and a check of every accepted job.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterDown, clusterUp, killClusterNow, readManifest, type ClusterManifest } from '../../src/cli/cluster.js';
import { freePort } from '../../src/store/local-redis.js';
import { outagesOf, overlapMs, quantileOrNull, type Interval } from './availability.js';
import { currentPid, httpStatus, sentinelMasterPort } from './cluster-probe.js';
import { LoadClient, type AcceptedJob } from './load-client.js';
import { Nemesis, type FaultRecord } from './nemesis.js';
import { PartitionProxy } from './partition-proxy.js';
import { FAULT_KINDS, planFaults, REDIS_FAULT_KINDS, type FaultKind } from './schedule.js';

export interface ChaosOptions {
  readonly minutes: number;
  readonly seed: number;
  /** @default every kind */
  readonly kinds?: readonly FaultKind[];
  /** After the heal, how long jobs may take to end before they count as stuck. @default 120000 */
  readonly settleMs?: number;
  /** Per fault, how long to wait for every process to be ready again. @default 60000 */
  readonly recoveryTimeoutMs?: number;
  /** Quiet time between a fault's recovery and the next fault, drawn from [min, max] by the seed. @default [3000, 7000] */
  readonly gapMs?: readonly [number, number];
  /** Keep the cluster's directory (logs, data) afterwards; it is kept anyway when a safety figure fails. @default false */
  readonly keepDir?: boolean;
  /** A line per fault and per phase. */
  readonly onProgress?: (line: string) => void;
  /** Aborting stops the run early: heal, no check, everything stopped. */
  readonly signal?: AbortSignal;
}

/** The issue's targets (#28). */
export const TARGETS = Object.freeze({ wrong: 0, failed: 0, stuck: 0, lost: 0, recoveryMsMax: 10_000, apiUnavailableMsPerRedisFailover: 5_000, apiUnavailableMsOtherFaults: 0 });

export type JobVerdict = 'correct' | 'wrong' | 'failed' | 'stuck' | 'lost';

export interface ChaosReport {
  readonly seed: number;
  readonly minutes: number;
  readonly faults: number;
  readonly jobs: { accepted: number; correct: number; wrong: number; failed: number; stuck: number; lost: number; ambiguousSubmits: number };
  readonly apiUnavailableMs: {
    perRedisFailover: number[];
    otherFaults: number[];
    redisFailoverMax: number | null;
    redisFailoverP50: number | null;
    otherFaultsMax: number | null;
    otherFaultsP50: number | null;
    /** Outage time outside every fault's window (from its start to its recovery). */
    outsideFaults: number;
  };
  readonly apiRequests: { total: number; ok: number; refused: number; unavailable: number; error: number };
  readonly recoveryMs: Partial<Record<FaultKind, { p50: number | null; max: number | null; count: number; unrecovered: number }>>;
  readonly targets: typeof TARGETS;
  readonly targetsMet: boolean;
  /** wrong = failed = stuck = lost = 0: the exit code's figure. */
  readonly safe: boolean;
  /** Processes still not ready a minute after the heal (empty: all ready). */
  readonly notReadyAfterHeal: readonly string[];
  /** Where the cluster's logs were kept, if they were. */
  readonly keptDir?: string;
}

export interface ChaosDetail {
  readonly report: ChaosReport;
  readonly faultLog: ReadonlyArray<FaultRecord & { apiUnavailableMs: number }>;
  readonly outages: readonly Interval[];
  readonly badJobs: ReadonlyArray<{ id: string; verdict: JobVerdict; input: AcceptedJob['input']; expected: number; got?: unknown; lastStatus?: string; error?: unknown }>;
  readonly requestErrors: ReadonlyArray<{ at: number; op: string; outcome: string; status?: number; detail?: string }>;
  readonly startedAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the whole thing; resolves with the report and the details (fault log, outages, bad jobs). */
export async function runChaos(options: ChaosOptions): Promise<ChaosDetail> {
  const kinds = options.kinds ?? FAULT_KINDS;
  const say = options.onProgress ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), `ringpool-chaos-${options.seed}-`));
  let worker: ChildProcess | undefined;
  let proxy: PartitionProxy | undefined;
  // Detached processes outlive us: whatever happens, none is left behind.
  const killNow = () => {
    killClusterNow(dir);
    worker?.kill('SIGKILL');
    killStragglers(dir);
  };
  process.once('exit', killNow);
  let keep = options.keepDir ?? false;
  const t0 = Date.now();
  const at = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;
  try {
    say(`${at()} cluster up in ${dir} (3 schedulers, 3 workers × 1 thread, Redis master + 2 replicas, 3 sentinels, the API, the supervisor)`);
    const manifest = await clusterUp({ dir, basePort: 0, workers: 3, threads: 1, logLevel: 'info', prefix: `chaos${options.seed}`, onProgress: (l) => say(`${at()} ${l}`), ...(options.signal ? { signal: options.signal } : {}) });

    let partition: { workerId: string; url: string; proxy: PartitionProxy } | undefined;
    if (kinds.includes('worker-partition')) {
      proxy = await PartitionProxy.start(() => sentinelMasterPort(manifest));
      const started = await startPartitionWorker(manifest, proxy.port);
      worker = started.child;
      partition = { workerId: started.id, url: started.url, proxy };
      say(`${at()} worker ${started.id} started behind the partition proxy 127.0.0.1:${proxy.port}`);
    }

    const nemesis = new Nemesis({
      dir,
      ...(partition ? { partition } : {}),
      recoveryTimeoutMs: options.recoveryTimeoutMs ?? 60_000,
      onFault: (r) => say(`${at()} ${describeFault(r, t0)}`),
    });
    const first = await nemesis.waitReady(Date.now());
    if (first.at === null) throw new Error(`the cluster is not ready (${first.notReady.join(', ')}) a minute after up; logs in ${join(dir, 'logs')}`);

    const client = new LoadClient({ apiUrl: manifest.apiUrl, seed: options.seed });
    const runMs = options.minutes * 60_000;
    const stop = new AbortController();
    const abort = () => stop.abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    const timer = setTimeout(abort, runMs);
    const startedAt = Date.now();
    client.start();
    say(`${at()} client and nemesis running for ${options.minutes} min (seed ${options.seed}; faults: ${kinds.join(', ')})`);
    const ticker = setInterval(() => say(`${at()} client: ${client.accepted.length} accepted, ${client.unfinished} unfinished, ${client.requests.filter((r) => r.outcome !== 'ok').length} requests not answered`), 30_000);
    // Warm up before the first fault: the client's figures then have a baseline.
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.min(5_000, runMs));
      stop.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
    const plan = planFaults({ seed: options.seed, kinds, count: Math.ceil(runMs / 1_000) + 1, ...(options.gapMs ? { minGapMs: options.gapMs[0], maxGapMs: options.gapMs[1] } : {}) });
    try {
      await nemesis.run(plan, stop.signal);
      // The plan is long enough to fill the time; if not, the client runs on to the end.
      if (!stop.signal.aborted) await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      clearTimeout(timer);
      clearInterval(ticker);
      options.signal?.removeEventListener('abort', abort);
      await client.stop();
      nemesis.healAll();
    }
    const endedAt = Date.now();
    if (options.signal?.aborted) throw new Error('interrupted');

    say(`${at()} time is up: healed everything; waiting up to ${(options.settleMs ?? 120_000) / 1000} s for the ${client.accepted.length} accepted jobs`);
    // The jobs' 2 minutes start at the heal; readiness is watched meanwhile, for the log.
    const healedAt = Date.now();
    const [finalReady, verdicts] = await Promise.all([
      nemesis.waitReady(healedAt).then((r) => {
        say(`${at()} ${r.at === null ? `still not ready a minute after the heal: ${r.notReady.join(', ')}` : `every process ready ${r.at - healedAt} ms after the heal`}`);
        return r;
      }),
      checkJobs(manifest.apiUrl, client.accepted, healedAt + (options.settleMs ?? 120_000), options.signal),
    ]);
    say(`${at()} jobs checked: ${[...verdicts.values()].filter((v) => v.verdict === 'correct').length} of ${client.accepted.length} correct`);

    const outages = outagesOf(client.requests, endedAt);
    const faultLog = nemesis.records.map((r, i) => {
      const next = nemesis.records[i + 1];
      // A fault's window: from its start until it has recovered (or the next fault, or the end).
      const to = r.recoveredAt ?? next?.startAt ?? endedAt;
      return { ...r, apiUnavailableMs: overlapMs(outages, { from: r.startAt, to }) };
    });
    const inWindows = faultLog.reduce((sum, r) => sum + r.apiUnavailableMs, 0);
    const totalOutage = outages.reduce((sum, o) => sum + (o.to - o.from), 0);
    const injected = faultLog.filter((r) => r.skipped === undefined);
    const redis = injected.filter((r) => REDIS_FAULT_KINDS.includes(r.kind)).map((r) => r.apiUnavailableMs);
    const other = injected.filter((r) => !REDIS_FAULT_KINDS.includes(r.kind)).map((r) => r.apiUnavailableMs);
    const count = (v: JobVerdict) => [...verdicts.values()].filter((x) => x.verdict === v).length;
    const jobs = { accepted: client.accepted.length, correct: count('correct'), wrong: count('wrong'), failed: count('failed'), stuck: count('stuck'), lost: count('lost'), ambiguousSubmits: client.ambiguousSubmits };
    const recoveryMs: ChaosReport['recoveryMs'] = {};
    for (const kind of kinds) {
      const of = injected.filter((r) => r.kind === kind);
      if (of.length === 0) continue;
      const samples = of.map((r) => r.recoveryMs).filter((ms): ms is number => ms !== null);
      recoveryMs[kind] = { p50: quantileOrNull(samples, 0.5), max: samples.length === 0 ? null : Math.max(...samples), count: of.length, unrecovered: of.length - samples.length };
    }
    const safe = jobs.wrong === 0 && jobs.failed === 0 && jobs.stuck === 0 && jobs.lost === 0;
    const recoveryOk = injected.every((r) => r.recoveryMs !== null && r.recoveryMs <= TARGETS.recoveryMsMax);
    const apiOk = redis.every((ms) => ms <= TARGETS.apiUnavailableMsPerRedisFailover) && other.every((ms) => ms <= TARGETS.apiUnavailableMsOtherFaults);
    if (!safe) keep = true;
    const report: ChaosReport = {
      seed: options.seed,
      minutes: options.minutes,
      faults: injected.length,
      jobs,
      apiUnavailableMs: {
        perRedisFailover: redis,
        otherFaults: other,
        redisFailoverMax: redis.length === 0 ? null : Math.max(...redis),
        redisFailoverP50: quantileOrNull(redis, 0.5),
        otherFaultsMax: other.length === 0 ? null : Math.max(...other),
        otherFaultsP50: quantileOrNull(other, 0.5),
        outsideFaults: Math.max(0, totalOutage - inWindows),
      },
      apiRequests: {
        total: client.requests.length,
        ok: client.requests.filter((r) => r.outcome === 'ok').length,
        refused: client.requests.filter((r) => r.outcome === 'refused').length,
        unavailable: client.requests.filter((r) => r.outcome === 'unavailable').length,
        error: client.requests.filter((r) => r.outcome === 'error').length,
      },
      recoveryMs,
      targets: TARGETS,
      targetsMet: safe && recoveryOk && apiOk,
      safe,
      notReadyAfterHeal: finalReady.notReady,
      ...(keep ? { keptDir: dir } : {}),
    };
    const badJobs = client.accepted
      .map((j) => ({ job: j, v: verdicts.get(j.id) }))
      .filter((x) => x.v !== undefined && x.v.verdict !== 'correct')
      .map(({ job, v }) => ({ id: job.id, verdict: v!.verdict, input: job.input, expected: job.expected, ...(v!.got === undefined ? {} : { got: v!.got }), ...(v!.lastStatus ? { lastStatus: v!.lastStatus } : {}), ...(v!.error === undefined ? {} : { error: v!.error }) }));
    const requestErrors = client.requests.filter((r) => r.outcome !== 'ok').map((r) => ({ ...r, at: r.at - startedAt }));
    return { report, faultLog, outages: outages.map((o) => ({ from: o.from - startedAt, to: o.to - startedAt })), badJobs, requestErrors, startedAt };
  } catch (err) {
    keep = true;
    throw err;
  } finally {
    say(`${at()} stopping the cluster${keep ? `; its logs stay in ${join(dir, 'logs')}` : ''}`);
    worker?.kill('SIGTERM');
    await proxy?.close();
    await clusterDown(dir, { graceMs: 5_000, purge: !keep }).catch((err: Error) => say(`cluster down: ${err.message}`));
    worker?.kill('SIGKILL');
    killStragglers(dir);
    process.removeListener('exit', killNow);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Anything still running a command of the cluster (a process restarted as `cluster down` stopped it): SIGKILLed. */
function killStragglers(dir: string): void {
  let manifest: ClusterManifest | undefined;
  try {
    manifest = readManifest(dir);
  } catch {
    return;
  }
  for (const p of manifest?.processes ?? []) {
    const pid = currentPid(p);
    if (pid === undefined) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * A fourth worker node that reaches Redis only through the partition proxy (which follows the
 * master through the sentinels): the process a `worker-partition` fault cuts off. It is built
 * from w1's command (same flags) with its own id and port and `--redis` at the proxy instead of
 * `--sentinels`; the harness owns it (no launcher supervises it).
 */
async function startPartitionWorker(manifest: ClusterManifest, proxyPort: number): Promise<{ id: string; url: string; child: ChildProcess }> {
  const template = manifest.processes.find((p) => p.role === 'worker');
  if (template === undefined) throw new Error('the cluster has no worker to copy the flags of');
  const id = 'wp';
  const port = await freePort();
  const args: string[] = [];
  const given = template.command.slice(1);
  for (let i = 0; i < given.length; i++) {
    const arg = given[i] as string;
    if (arg === '--sentinels' || arg === '--sentinel-name') {
      i++;
      continue;
    }
    args.push(arg);
    if (arg === '--worker-id' || arg === '--port') args.push(arg === '--worker-id' ? id : String(port)), i++;
  }
  args.push('--redis', `redis://127.0.0.1:${proxyPort}`, '--min-replicas', '1');
  const log = join(manifest.dir, 'logs', `${id}.log`);
  const fd = openSync(log, 'a');
  let child: ChildProcess;
  try {
    child = spawn(template.command[0] as string, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...secretsOf(manifest.dir) } });
  } finally {
    closeSync(fd);
  }
  child.on('error', () => {});
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while ((await httpStatus(`${url}/readyz`)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the partition worker ${id} did not become ready; see ${log}`);
    await sleep(200);
  }
  return { id, url, child };
}

function secretsOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(dir, 'secrets.env'), 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0 && !line.startsWith('#')) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

interface Verdict {
  verdict: JobVerdict;
  got?: unknown;
  lastStatus?: string;
  error?: unknown;
}

/**
 * Reads every accepted job until it has ended or `deadline` passes: completed with the serial
 * reference's answer (correct) or another (wrong), failed or cancelled (failed), not ended
 * (stuck), or unknown to the API (lost). A 503 (failover, an end not yet on the replicas) is
 * asked again in the next round.
 */
async function checkJobs(apiUrl: string, jobs: readonly AcceptedJob[], deadline: number, signal?: AbortSignal): Promise<Map<string, Verdict>> {
  const verdicts = new Map<string, Verdict>();
  const open = new Map(jobs.map((j) => [j.id, { verdict: 'stuck' } as Verdict]));
  const ask = async (path: string): Promise<{ status: number; body: any } | undefined> => {
    try {
      const res = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(3_000) });
      return { status: res.status, body: await res.json().catch(() => undefined) };
    } catch {
      return undefined;
    }
  };
  const checkOne = async (job: AcceptedJob) => {
    const pending = open.get(job.id) as Verdict;
    const record = await ask(`/v1/jobs/${job.id}`);
    if (record === undefined) return;
    if (record.status === 404) {
      pending.verdict = 'lost';
      return;
    }
    if (record.status !== 200) return;
    const status = String(record.body?.status);
    pending.verdict = 'stuck';
    pending.lastStatus = status;
    if (status === 'failed' || status === 'cancelled') {
      verdicts.set(job.id, { verdict: 'failed', lastStatus: status, error: record.body?.error });
      open.delete(job.id);
    } else if (status === 'completed') {
      const result = await ask(`/v1/jobs/${job.id}/result`);
      if (result?.status !== 200) return;
      const got = result.body?.result;
      verdicts.set(job.id, got === job.expected ? { verdict: 'correct' } : { verdict: 'wrong', got });
      open.delete(job.id);
    }
  };
  while (open.size > 0 && Date.now() < deadline && !signal?.aborted) {
    const round = jobs.filter((j) => open.has(j.id));
    for (let i = 0; i < round.length; i += 8) await Promise.all(round.slice(i, i + 8).map(checkOne));
    if (open.size > 0) await sleep(1_000);
  }
  for (const [id, v] of open) verdicts.set(id, v);
  return verdicts;
}

export function describeFault(r: FaultRecord, t0: number): string {
  const rel = (t: number) => `${((t - t0) / 1000).toFixed(1)}s`;
  const head = `#${r.n} ${r.kind} ${r.target}${r.targetRole ? ` (${r.targetRole})` : ''}${r.pid ? ` pid ${r.pid}` : ''}`;
  if (r.skipped) return `${head}: skipped, ${r.skipped}`;
  const span = r.endAt > r.startAt ? ` ${rel(r.startAt)}–${rel(r.endAt)}` : ` at ${rel(r.startAt)}`;
  const promoted =
    r.promotedAt === undefined ? '' : r.promotedAt === null ? `; NO PROMOTION (the sentinels kept the ${r.kind === 'redis-master-kill' ? 'restarted' : 'paused'} master)` : `; ${r.newMaster} promoted after ${r.promotedAt - r.startAt} ms`;
  const restarted = r.newPid ? `; running again as pid ${r.newPid}` : '';
  const ready =
    r.recoveryMs === null
      ? `; NOT READY after the wait: ${(r.notReady ?? []).join(', ')}`
      : `; every process ready ${r.recoveryMs} ms after ${r.kind === 'redis-master-kill' && r.promotedAt ? 'the promotion' : 'the end'}${r.notReady ? ` (last not ready: ${r.notReady.join(', ')})` : ''}`;
  return `${head}${span}${promoted}${restarted}${ready}`;
}

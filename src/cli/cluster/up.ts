// `ringpool cluster up`: plan the ports, start Redis, Sentinel and the ringpool processes detached, wait for each, record them.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { workerRange, type WorkerRange } from '../../autoscale/worker-range.js';
import { RingpoolError } from '../../errors.js';
import { assertRedisServerAvailable, redisReplicasOnline, sentinelMaster } from '../../store/local-redis.js';
import { autoscaledWorkerFlags, commonFlags, redisCommand, ringpoolCommand, sentinelCommand, supervisorCommand, type Command } from './commands.js';
import { DEFAULT_DIR, manifestPath, readManifest, secretEnv, writeManifest, writeSecrets, type ClusterManifest, type ClusterProcess, type ClusterSecrets } from './manifest.js';
import { HOST, planCluster, planned, type ClusterPlan, type Planned } from './plan.js';
import { ownership, sleep, stopProcesses } from './processes.js';
import { clusterView, httpOk, logTail } from './probes.js';
import { supervising } from './supervise.js';

export interface ClusterUpOptions {
  /** Where logs, pid files, data and `cluster.json` go. @default './.ringpool/cluster' */
  readonly dir?: string;
  /**
   * Worker nodes: a fixed N (restarted by the supervisor when they exit), or `auto` / `MIN..MAX`
   * as `ringpool start --workers` takes them: the supervisor's local autoscaler starts and drains
   * them with the backlog (docs/operations.md "Autoscaling"). @default 3
   */
  readonly workers?: number | string;
  /** The MAX of `workers: 'auto'`. @default the cores of this host */
  readonly maxWorkers?: number;
  /** Autoscaled: a node the backlog no longer needs is drained after this long without need, ms. @default 30000 */
  readonly scaleDownIdleMs?: number;
  /** Autoscaled: the backlog should drain within this time (the schedulers' recommendation), ms. @default the schedulers' (10000) */
  readonly targetDrainMs?: number;
  /** Threads per worker node. @default the cores of this host shared among the workers (MAX of a range; at least 1) */
  readonly threads?: number;
  /** First of the consecutive ports (api, schedulers, Redis, sentinels, workers); 0: free ports. @default 7100 */
  readonly basePort?: number;
  /** Bearer token(s) the API requires (`T` or `T:scope+scope`); none: an open API on 127.0.0.1. @default RINGPOOL_API_TOKENS, else none */
  readonly apiTokens?: readonly string[];
  /** HMAC key of the Raft messages. @default RINGPOOL_CLUSTER_SECRET, else the one in `<dir>/secrets.env`, else a new random one */
  readonly clusterSecret?: string;
  /** Redis key prefix. @default 'ringpool' */
  readonly prefix?: string;
  /** The master name the sentinels monitor. @default 'ringpool' */
  readonly sentinelName?: string;
  /** Extra folders of job modules for every node. @default [] */
  readonly jobsDirs?: readonly string[];
  /** pino level of the node processes (their logs go to `<dir>/logs/`). @default 'info' */
  readonly logLevel?: string;
  /** More flags for every ringpool process (e.g. `['--lease-ms', '3000']`). @default [] */
  readonly extraFlags?: readonly string[];
  /** How long `up` waits for the cluster to be ready. @default 60000 */
  readonly timeoutMs?: number;
  /** @default 'redis-server' */
  readonly redisBinary?: string;
  /** Progress lines ("starting 3 schedulers…"). @default none */
  readonly onProgress?: (line: string) => void;
  /** Aborting stops whatever was started and rejects. */
  readonly signal?: AbortSignal;
}

const DEFAULTS = Object.freeze({
  workers: 3,
  scaleDownIdleMs: 30_000,
  basePort: 7100,
  prefix: 'ringpool',
  sentinelName: 'ringpool',
  logLevel: 'info',
  timeoutMs: 60_000,
  redisBinary: 'redis-server',
});

/**
 * Starts Redis master + 2 replicas + 3 sentinels, 3 schedulers (a Raft group), the worker nodes
 * and the API as detached processes that outlive the caller; resolves with the manifest once the
 * API answers, every worker is registered alive and the schedulers have a leader. On failure
 * (or abort) everything started is stopped again and the error names the log to read.
 */
export async function clusterUp(options: ClusterUpOptions = {}): Promise<ClusterManifest> {
  const settings = upSettings(options);
  const { dir, progress } = settings;
  assertRedisServerAvailable(settings.redisBinary);
  mkdirSync(dir, { recursive: true });
  refuseRunningCluster(dir);
  const plan = await planCluster(dir, settings.workers, settings.basePort);
  for (const sub of ['logs', 'pids', 'data', 'redis']) mkdirSync(join(dir, sub), { recursive: true });
  const secrets = writeSecrets(dir, options);
  const launcher = new Launcher(dir, startingManifest(settings, plan));
  try {
    // First: its own start (loading the CLI) overlaps the waits for Redis and Sentinel instead of
    // competing for the cores with the schedulers'. It waits for `state: up` (see superviseCluster).
    const supervisor = launcher.launch({ role: 'supervisor', id: 'supervisor', port: 0 }, supervisorCommand(dir));

    progress(`starting Redis master ${HOST}:${plan.master.port}, 2 replicas and 3 sentinels`);
    const redis = startRedis(launcher, settings, plan);
    await waitFor(settings, 'the Redis master and both replicas to link', () => redisReplicasOnline(plan.master.port, redis.replicas.length), [redis.master, ...redis.replicas]);
    const sentinels = planned(plan, 'sentinel').map((p) => launcher.launch(p, sentinelCommand(dir, settings.redisBinary, p, settings.sentinelName, plan.master.port)));
    await waitFor(settings, 'the sentinels to name the master', () => sentinelsNameMaster(sentinels, settings.sentinelName, plan.master.port), sentinels);

    const nodes = settings.autoscale === undefined ? `${settings.workers} worker node${settings.workers > 1 ? 's' : ''}` : `worker nodes autoscaled ${settings.autoscale.range.minNodes}..${settings.autoscale.range.maxNodes}`;
    progress(`starting 3 schedulers, ${nodes} × ${settings.threads} thread${settings.threads > 1 ? 's' : ''} and the API`);
    const ringpool = startRingpool(launcher, settings, plan, secrets);
    await waitFor(settings, 'every process to answer /healthz', () => allHealthy(ringpool.all), launcher.started);
    const token = secrets.apiTokens[0]?.replace(/:[a-z+]*$/, '');
    await waitFor(settings, `the API to show ${settings.workers} alive worker${settings.workers > 1 ? 's' : ''} and a Raft leader`, () => workersAliveAndLeader(plan.apiUrl, token, ringpool.workers), launcher.started);

    launcher.recordUp();
    // From here on the supervisor is the only writer of the manifest: `up` only reads its log.
    await waitFor(settings, 'the supervisor to watch the processes', async () => (supervising(supervisor.proc) ? true : undefined), [supervisor]);
    const min = settings.autoscale?.range.minNodes ?? 0;
    if (min > 0) {
      progress(`waiting for the autoscaler to start MIN = ${min} worker node${min > 1 ? 's' : ''}`);
      await waitFor(settings, `the API to show ${min} alive autoscaled worker${min > 1 ? 's' : ''}`, () => autoscaledAlive(plan.apiUrl, token, min), [supervisor]);
    }
    return readManifest(dir) ?? launcher.manifest;
  } catch (err) {
    progress(`start failed: stopping the ${launcher.started.length} processes started`);
    await launcher.stopAll();
    throw err;
  }
}

// ---- plan: the options, checked ------------------------------------------------------------------

interface UpSettings {
  readonly dir: string;
  /** Worker processes `up` starts itself (0 when autoscaled). */
  readonly workers: number;
  readonly autoscale: { readonly range: WorkerRange; readonly scaleDownIdleMs: number; readonly targetDrainMs: number | undefined } | undefined;
  readonly threads: number;
  readonly basePort: number;
  readonly timeoutMs: number;
  readonly prefix: string;
  readonly sentinelName: string;
  readonly redisBinary: string;
  readonly logLevel: string;
  readonly jobsDirs: readonly string[];
  readonly extraFlags: readonly string[];
  readonly progress: (line: string) => void;
  readonly signal: AbortSignal | undefined;
}

function upSettings(options: ClusterUpOptions): UpSettings {
  const dir = resolve(options.dir ?? DEFAULT_DIR);
  // The one check `start --workers` makes (src/autoscale/worker-range.ts), with its message; a plain N is a fixed count.
  const text = String(options.workers ?? DEFAULTS.workers);
  const range = workerRange({ workers: text, maxWorkers: options.maxWorkers });
  const autoscaled = !/^\d+$/.test(text);
  const workers = autoscaled ? 0 : positiveInt('workers', range.maxNodes, 64);
  const threads = positiveInt('threads', options.threads ?? Math.max(1, Math.floor(availableParallelism() / range.maxNodes)), 1024);
  const autoscale = autoscaled
    ? { range, scaleDownIdleMs: msOption('scale-down-idle-ms', options.scaleDownIdleMs ?? DEFAULTS.scaleDownIdleMs, 0), targetDrainMs: options.targetDrainMs === undefined ? undefined : msOption('target-drain-ms', options.targetDrainMs, 100) }
    : undefined;
  const basePort = options.basePort ?? DEFAULTS.basePort;
  if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65_535) throw new RingpoolError('CONFIG', `base port must be 0 (free ports) or a port number, got ${String(basePort)}`);
  return {
    dir,
    workers,
    autoscale,
    threads,
    basePort,
    timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
    prefix: options.prefix ?? DEFAULTS.prefix,
    sentinelName: options.sentinelName ?? DEFAULTS.sentinelName,
    redisBinary: options.redisBinary ?? DEFAULTS.redisBinary,
    logLevel: options.logLevel ?? DEFAULTS.logLevel,
    jobsDirs: options.jobsDirs ?? [],
    extraFlags: options.extraFlags ?? [],
    progress: options.onProgress ?? (() => {}),
    signal: options.signal,
  };
}

/** A duration option as `ringpool start` bounds it (src/config/config.ts): `min` to a day, ms. */
function msOption(flag: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min || value > 86_400_000) throw new RingpoolError('CONFIG', `--${flag} must be an integer from ${min} to 86400000 (ms), got ${String(value)}`);
  return value;
}

function positiveInt(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RingpoolError('CONFIG', `${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  return value;
}

/** One `up` per directory: a manifest whose processes all are gone is stale and removed. */
function refuseRunningCluster(dir: string): void {
  const existing = readManifest(dir);
  if (existing === undefined) return;
  const alive = existing.processes.filter((p) => ownership(p) === 'ours');
  if (alive.length > 0) {
    throw new RingpoolError('CONFIG', `a cluster is already running from ${dir} (${alive.length} of its processes are alive, API ${existing.apiUrl}); run \`ringpool cluster down --dir ${dir}\` first`);
  }
  rmSync(manifestPath(dir), { force: true }); // every process of it is gone: a stale manifest
}

function startingManifest(settings: UpSettings, plan: ClusterPlan): ClusterManifest {
  return {
    version: 1,
    state: 'starting',
    dir: settings.dir,
    createdAt: new Date().toISOString(),
    apiUrl: plan.apiUrl,
    prefix: settings.prefix,
    sentinelName: settings.sentinelName,
    sentinels: plan.sentinels,
    peers: plan.peers,
    threads: settings.threads,
    ...(settings.autoscale === undefined
      ? {}
      : {
          autoscale: {
            minNodes: settings.autoscale.range.minNodes,
            maxNodes: settings.autoscale.range.maxNodes,
            scaleDownIdleMs: settings.autoscale.scaleDownIdleMs,
            workerFlags: autoscaledWorkerFlags(settings.threads, commonFlags({ ...settings, sentinels: plan.sentinels })),
            decisions: {},
          },
        }),
    processes: [],
  };
}

// ---- start: detached processes, each recorded as it starts --------------------------------------

interface Started {
  readonly proc: ClusterProcess;
  readonly child: ChildProcess;
  exit?: string;
}

/** The processes `up` has started, written to the manifest as each starts: a failed `up`, or `down`, finds them all. */
class Launcher {
  readonly #dir: string;
  readonly #started: Started[] = [];
  #manifest: ClusterManifest;

  constructor(dir: string, manifest: ClusterManifest) {
    this.#dir = dir;
    this.#manifest = manifest;
    writeManifest(manifest);
  }

  get manifest(): ClusterManifest {
    return this.#manifest;
  }

  /** Every process started so far, and (the same array) those started later. */
  get started(): readonly Started[] {
    return this.#started;
  }

  launch(p: Planned, { command, args, match, env = {} }: Command): Started {
    const log = join(this.#dir, 'logs', `${p.id}.log`);
    const fd = openSync(log, 'a');
    let child: ChildProcess;
    try {
      // detached: its own process group, so a Ctrl-C in this terminal does not reach it and it outlives us.
      child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) throw new RingpoolError('CONFIG', `could not start ${command} for ${p.id}`);
    child.unref();
    const pidFile = join(this.#dir, 'pids', `${p.id}.pid`);
    writeFileSync(pidFile, `${child.pid}\n`);
    const url = p.role === 'supervisor' ? '' : p.role.startsWith('redis') || p.role === 'sentinel' ? `redis://${HOST}:${p.port}` : `http://${HOST}:${p.port}`;
    const entry: Started = { proc: { role: p.role, id: p.id, port: p.port, pid: child.pid, url, log, pidFile, command: [command, ...args], match }, child };
    child.once('error', (err) => (entry.exit = err.message));
    child.once('exit', (code, sig) => (entry.exit = sig === null ? `exit code ${code}` : `signal ${sig}`));
    this.#started.push(entry);
    this.#record({ ...this.#manifest, processes: this.#started.map((s) => s.proc) });
    return entry;
  }

  /** Every part is ready: the supervisor, waiting for this, starts watching. */
  recordUp(): void {
    this.#record({ ...this.#manifest, state: 'up' });
  }

  /** After a failure: stops what was started and removes its pid files and the manifest. */
  async stopAll(): Promise<void> {
    await stopProcesses(
      this.#started.map((s) => s.proc),
      2_000,
    );
    for (const s of this.#started) rmSync(s.proc.pidFile, { force: true });
    rmSync(manifestPath(this.#dir), { force: true });
  }

  #record(manifest: ClusterManifest): void {
    this.#manifest = manifest;
    writeManifest(manifest);
  }
}

/** Redis: the master (AOF, min-replicas-to-write 1) and two replicas of it. */
function startRedis(launcher: Launcher, settings: UpSettings, plan: ClusterPlan): { master: Started; replicas: Started[] } {
  const master = launcher.launch(plan.master, redisCommand(settings.dir, settings.redisBinary, plan.master));
  const replicas = planned(plan, 'redis-replica').map((p) => launcher.launch(p, redisCommand(settings.dir, settings.redisBinary, p, plan.master.port)));
  return { master, replicas };
}

/** ringpool: the schedulers, the workers and the API; they find Redis through the sentinels. */
function startRingpool(launcher: Launcher, settings: UpSettings, plan: ClusterPlan, secrets: ClusterSecrets): { workers: Started[]; all: Started[] } {
  const common = commonFlags({ ...settings, sentinels: plan.sentinels });
  const env = { RINGPOOL_CLUSTER_SECRET: secrets.clusterSecret, RINGPOOL_API_TOKENS: secrets.apiTokens.join(',') };
  const node = (p: Planned, roleArgs: string[]) => launcher.launch(p, ringpoolCommand(p, roleArgs, common, secretEnv(p.role, env)));
  // Autoscaled: the schedulers' recommendation is clamped to the range and sized by the nodes' threads.
  const scaling = settings.autoscale === undefined ? [] : ['--workers', `${settings.autoscale.range.minNodes}..${settings.autoscale.range.maxNodes}`, '--threads', String(settings.threads), ...(settings.autoscale.targetDrainMs === undefined ? [] : ['--target-drain-ms', String(settings.autoscale.targetDrainMs)])];
  const schedulers = planned(plan, 'scheduler').map((p) => node(p, ['--id', p.id, '--peers', plan.peers.join(','), ...scaling]));
  const workers = planned(plan, 'worker').map((p) => node(p, ['--worker-id', p.id, '--threads', String(settings.threads)]));
  const api = node(planned(plan, 'api')[0] as Planned, []);
  return { workers, all: [...schedulers, ...workers, api] };
}

// ---- wait: until each part answers --------------------------------------------------------------

/** Polls `probe` until it gives a value; fails when one of `watch` exits, on abort, or after the timeout. */
async function waitFor<T>(settings: UpSettings, what: string, probe: () => Promise<T | undefined>, watch: readonly Started[]): Promise<T> {
  const deadline = Date.now() + settings.timeoutMs;
  for (;;) {
    if (settings.signal?.aborted) throw new RingpoolError('CONFIG', `interrupted while waiting for ${what}`);
    const dead = watch.find((s) => s.exit !== undefined);
    if (dead !== undefined) throw new RingpoolError('CONFIG', `${dead.proc.id} (${dead.proc.role}) exited (${dead.exit}) while waiting for ${what}${logTail(dead.proc.log)}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new RingpoolError('CONFIG', `timed out after ${settings.timeoutMs} ms waiting for ${what}; logs are in ${join(settings.dir, 'logs')}`);
    await sleep(100);
  }
}

async function sentinelsNameMaster(sentinels: readonly Started[], sentinelName: string, masterPort: number): Promise<true | undefined> {
  const named = await Promise.all(sentinels.map((s) => sentinelMaster(s.proc.port, sentinelName)));
  return named.every((port) => port === masterPort) ? true : undefined;
}

async function allHealthy(processes: readonly Started[]): Promise<true | undefined> {
  return (await Promise.all(processes.map((s) => httpOk(`${s.proc.url}/healthz`)))).every(Boolean) ? true : undefined;
}

/** At least `min` worker nodes alive (the autoscaler's: `up` started none). */
async function autoscaledAlive(apiUrl: string, token: string | undefined, min: number): Promise<true | undefined> {
  const view = await clusterView(apiUrl, token);
  return view.workers.filter((w) => w.state === 'alive').length >= min ? true : undefined;
}

/** Every worker `up` started is registered alive, and the schedulers have a leader. */
async function workersAliveAndLeader(apiUrl: string, token: string | undefined, workers: readonly Started[]): Promise<true | undefined> {
  const view = await clusterView(apiUrl, token);
  const alive = view.workers.filter((w) => w.state === 'alive' && workers.some((s) => s.proc.id === w.id)).length;
  return alive === workers.length && view.leaderId !== null ? true : undefined;
}

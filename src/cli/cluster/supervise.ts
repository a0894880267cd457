// `ringpool cluster supervise` (started by `up`): restarts every process of the cluster that exits, with a back-off.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LocalAutoscaler } from '../../autoscale/local-autoscaler.js';
import { sentinelMaster } from '../../store/local-redis.js';
import { createLogger } from '../logger.js';
import { autoscaleWorkers, type SpawnedWorker } from './auto-workers.js';
import { autoscaledWorkerMatch } from './commands.js';
import { manifestPath, readManifest, readSecrets, secretEnv, writeManifest, type ClusterAutoscale, type ClusterExit, type ClusterManifest, type ClusterProcess, type ClusterRole } from './manifest.js';
import { HOST } from './plan.js';
import { ownership, sleep } from './processes.js';

/*
 * Why one detached supervisor process, started by `up` and recorded in the manifest: `up` returns
 * once the cluster is ready (the CLI then exits), so what watches must outlive it, and `down` must
 * find it to stop it first. The processes `up` started are not its children: it can only see that
 * one is gone (polled through /proc, the check `down` makes), not how it ended. The ones it starts
 * again are its children, so their `exit` gives the code or signal. Every exit is restarted, a clean
 * one too (Kubernetes' `restartPolicy: Always`): the first runs' exit statuses are unknowable, and
 * the way to stop a process of the cluster is `cluster down`. A stopped process (SIGSTOP) still
 * exists and is left alone; a zombie, or a pid now running another program, has exited.
 *
 * With `up --workers auto|MIN..MAX` the supervisor also runs the local autoscaler (the one of
 * `start --workers`, src/autoscale/local-autoscaler.ts): the worker nodes are its children, listed
 * in the manifest while they run (so `down` and `status` see them) and never restarted by it: a
 * node that exits is the autoscaler's to replace. Stopped, it drains them before it exits.
 */

export interface SuperviseOptions {
  /** How often the processes `up` started are looked for in /proc. @default 250 */
  readonly pollMs?: number;
  /** Delay before a restart after a run that lasted; doubled after each quick exit. @default 500 */
  readonly firstDelayMs?: number;
  /** The longest delay before a restart. @default 10000 */
  readonly maxDelayMs?: number;
  /** A run at least this long counts as lasting: the next delay is `firstDelayMs` again. @default 30000 */
  readonly resetAfterMs?: number;
}

const SUPERVISE_DEFAULTS = Object.freeze({ pollMs: 250, firstDelayMs: 500, maxDelayMs: 10_000, resetAfterMs: 30_000 });

/** The back-off of the restart policy: 0.5 s, 1 s, 2 s … up to 10 s after `quickExits` quick exits in a row. */
export function restartDelay(quickExits: number, options: SuperviseOptions = {}): number {
  const first = options.firstDelayMs ?? SUPERVISE_DEFAULTS.firstDelayMs;
  return Math.min(options.maxDelayMs ?? SUPERVISE_DEFAULTS.maxDelayMs, first * 2 ** Math.min(quickExits, 30));
}

/** The line the supervisor logs once it watches; `up` waits for it. */
const supervisingLine = (pid: number) => `supervisor pid ${pid} is watching`;

export function supervising(proc: ClusterProcess): boolean {
  try {
    return readFileSync(proc.log, 'utf8').includes(supervisingLine(proc.pid));
  } catch {
    return false;
  }
}

interface Watched {
  proc: ClusterProcess;
  /** Set once the supervisor has started it: then its `exit` event, not /proc, says it ended. */
  child?: ChildProcess;
  startedAt: number;
  quickExits: number;
  /** A restart is due. */
  timer?: NodeJS.Timeout;
}

/** How long a dead master's restart waits for Sentinel to promote a replica (down-after 1.5 s + a failover). */
const MASTER_FAILOVER_WAIT_MS = 30_000;

const isRedisData = (role: ClusterRole) => role === 'redis-master' || role === 'redis-replica';

/**
 * The argv to start a Redis node again with: its own, replicating from the master the sentinels name
 * now (none when they name this node). As started, the old master would come back a master with old
 * data after a failover (min-replicas-to-write keeps writes off it, and Sentinel makes it a replica
 * some seconds later, docs/replication.md), and a replica promoted since would come back a replica
 * of redis-1, itself now a replica of it: a loop with no master. No sentinel answers: the argv it had.
 */
async function redisRestartCommand(proc: ClusterProcess, manifest: ClusterManifest, stopping: () => boolean): Promise<readonly string[]> {
  // Bounded: a paused sentinel accepts the connection and never answers.
  const ask = (sentinel: string) => Promise.race([sentinelMaster(Number(sentinel.slice(sentinel.lastIndexOf(':') + 1)), manifest.sentinelName), sleep(2_000).then(() => undefined)]);
  const namedMaster = async (): Promise<number | undefined> => {
    const named = (await Promise.all(manifest.sentinels.map(ask))).filter((port): port is number => port !== undefined);
    const votes = new Map<number, number>();
    for (const port of named) votes.set(port, (votes.get(port) ?? 0) + 1);
    return [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
  };
  let master = await namedMaster();
  if (master === undefined) return proc.command;
  // A master that died is not started again as the master: back before the sentinels notice (their
  // down-after is 1.5 s), it would keep the role with what its append-only file held (fsync'd once a
  // second), and the replicas would resync from it, dropping writes they had confirmed to WAIT.
  // So wait for Sentinel to promote a replica, and come back as its replica; only if none is
  // promoted in time (no replica left) does it come back the master.
  for (const deadline = Date.now() + MASTER_FAILOVER_WAIT_MS; master === proc.port && Date.now() < deadline && !stopping(); ) {
    await sleep(500);
    master = (await namedMaster()) ?? master;
  }
  const at = proc.command.indexOf('--replicaof');
  const own = at < 0 ? [...proc.command] : [...proc.command.slice(0, at), ...proc.command.slice(at + 3)];
  return master === proc.port ? own : [...own, '--replicaof', HOST, String(master)];
}

/**
 * `ringpool cluster supervise --dir D` (started by `up`, not for users): restarts every process of
 * the manifest that exits, with its argv, environment and log file, after the back-off of
 * `restartDelay`; records the new pid, `restarts` and `lastExit` in the manifest and one line per
 * exit and per restart in its own log. Resolves with the exit code on SIGTERM or SIGINT, leaving the
 * processes running (`down` stops them next).
 */
export async function superviseCluster(dir: string, options: SuperviseOptions = {}): Promise<number> {
  const root = resolve(dir);
  const stop = new StopSignal();
  const manifest = await waitForUp(root, stop);
  if (typeof manifest === 'number') return manifest;
  const supervisor = new Supervisor(root, manifest, options, stop);
  await stop.stopped;
  await supervisor.close();
  say(`stopped by a signal; the processes run on (\`cluster down\` stops them)${manifest.autoscale === undefined ? '' : ', but for the autoscaled worker nodes, drained'}`);
  return 0;
}

const say = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

/** SIGTERM or SIGINT stops the supervisor (not the processes). */
class StopSignal {
  #stopping = false;
  readonly stopped: Promise<void>;

  constructor() {
    let onStop = () => {};
    this.stopped = new Promise<void>((done) => (onStop = done));
    const stop = () => {
      this.#stopping = true;
      onStop();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }

  get stopping(): boolean {
    return this.#stopping;
  }
}

/**
 * Waits for `up` to finish: a process that dies while it starts is its failure to report, not ours to restart.
 * Resolves with the manifest once it is `up`, or with the exit code when there is nothing to supervise.
 */
async function waitForUp(root: string, stop: StopSignal): Promise<ClusterManifest | number> {
  const parent = process.ppid;
  for (;;) {
    if (stop.stopping) return 0;
    const manifest = readManifest(root);
    if (manifest?.processes.find((p) => p.role === 'supervisor')?.pid !== process.pid) {
      say(`${manifestPath(root)} does not list this supervisor (pid ${process.pid}): nothing to supervise`);
      return 1;
    }
    if (manifest.state === 'up') return manifest;
    if (process.ppid !== parent) {
      say('`cluster up` is gone before the cluster was up: nothing to supervise');
      return 1;
    }
    await sleep(100);
  }
}

/** Watches the processes of the manifest and starts each that exits again, recording it in the manifest. */
class Supervisor {
  readonly #root: string;
  readonly #options: SuperviseOptions;
  readonly #stop: StopSignal;
  readonly #watched: Watched[];
  readonly #poll: NodeJS.Timeout;
  readonly #autoscaler: LocalAutoscaler | undefined;
  #current: ClusterManifest;

  constructor(root: string, manifest: ClusterManifest, options: SuperviseOptions, stop: StopSignal) {
    this.#root = root;
    this.#options = options;
    this.#stop = stop;
    this.#current = manifest;
    this.#watched = manifest.processes.filter((p) => p.role !== 'supervisor').map((proc): Watched => ({ proc, startedAt: Date.now(), quickExits: 0 }));
    this.#poll = setInterval(() => this.#pollStarted(), options.pollMs ?? SUPERVISE_DEFAULTS.pollMs);
    const resetAfterMs = options.resetAfterMs ?? SUPERVISE_DEFAULTS.resetAfterMs;
    this.#autoscaler = manifest.autoscale === undefined ? undefined : this.#startAutoscaler(manifest.autoscale);
    const scaling = manifest.autoscale === undefined ? '' : `; autoscaling worker nodes ${manifest.autoscale.minNodes}..${manifest.autoscale.maxNodes}`;
    say(`${supervisingLine(process.pid)} the ${this.#watched.length} processes of ${root}; restart delay ${restartDelay(0, options)} ms doubling up to ${restartDelay(30, options)} ms, reset after a run of ${resetAfterMs} ms${scaling}`);
  }

  /** Stops watching; drains the autoscaled worker nodes and waits for them to exit (each leaves the manifest as it does). */
  async close(): Promise<void> {
    clearInterval(this.#poll);
    for (const w of this.#watched) clearTimeout(w.timer);
    await this.#autoscaler?.close();
  }

  // ---- the autoscaled worker nodes (`up --workers auto|MIN..MAX`) ----------------------------

  #startAutoscaler(a: ClusterAutoscale): LocalAutoscaler {
    const secrets = readSecrets(this.#root);
    return autoscaleWorkers({
      range: { minNodes: a.minNodes, maxNodes: a.maxNodes },
      scaleDownIdleMs: a.scaleDownIdleMs,
      apiUrl: this.#current.apiUrl,
      token: secrets.RINGPOOL_API_TOKENS?.split(',')[0]?.replace(/:[a-z+]*$/, ''),
      workerFlags: a.workerFlags,
      logsDir: join(this.#root, 'logs'),
      env: secretEnv('worker', secrets),
      // Its decisions, one JSON line each, go to the supervisor's log between its own lines.
      logger: createLogger('info'),
      onSpawn: (w) => this.#recordAutoscaled(w),
      onDecision: ({ direction, reason, node }) => {
        const autoscale = this.#current.autoscale as ClusterAutoscale;
        const key = `${direction}:${reason}`;
        const decisions = { ...autoscale.decisions, [key]: (autoscale.decisions[key] ?? 0) + 1 };
        // A called spare is a node from now on.
        const processes = this.#current.processes.map((p) => (p.id === node && direction === 'up' ? { ...p, autoscaled: 'node' as const } : p));
        this.#write({ ...this.#current, autoscale: { ...autoscale, decisions }, processes });
      },
    });
  }

  /** Synchronous from the spawn on, as a restart is: `down` finds the pid in the manifest once the process exists. */
  #recordAutoscaled(w: SpawnedWorker): void {
    const pid = w.child.pid;
    if (pid === undefined) return; // not started: the autoscaler sees its error and exit
    const proc: ClusterProcess = {
      role: 'worker',
      id: w.id,
      port: 0,
      pid,
      url: '',
      log: w.log,
      pidFile: join(this.#root, 'pids', `${w.id}.pid`),
      command: w.command,
      match: autoscaledWorkerMatch(w.id, join(this.#root, 'data')),
      autoscaled: w.standby ? 'spare' : 'node',
    };
    writeFileSync(proc.pidFile, `${pid}\n`);
    say(`${w.id} (worker, autoscaled${w.standby ? ', parked spare' : ''}) started: pid ${pid}`);
    this.#write({ ...this.#current, processes: [...this.#current.processes.filter((p) => p.id !== w.id), proc] });
    w.child.once('exit', (code, sig) => {
      rmSync(proc.pidFile, { force: true });
      this.#write({ ...this.#current, processes: this.#current.processes.filter((p) => !(p.id === w.id && p.pid === pid)) });
      say(`${w.id} (worker, autoscaled) pid ${pid} exited: ${sig === null ? `exit code ${code}` : `signal ${sig}`}; not restarted (the autoscaler starts nodes as the backlog wants them)`);
    });
  }

  #write(manifest: ClusterManifest): void {
    this.#current = manifest;
    writeManifest(manifest);
  }

  /** The processes `up` started are not our children: only /proc tells that one is gone. */
  #pollStarted(): void {
    for (const w of this.#watched) if (w.child === undefined && w.timer === undefined && ownership(w.proc) !== 'ours') this.#exited(w, 'status unknown (started by `cluster up`, not a child of the supervisor)');
  }

  #exited(w: Watched, how: string, failedStart = false): void {
    if (this.#stop.stopping) return;
    const now = Date.now();
    if (now - w.startedAt >= (this.#options.resetAfterMs ?? SUPERVISE_DEFAULTS.resetAfterMs)) w.quickExits = 0;
    const delay = restartDelay(w.quickExits, this.#options);
    w.quickExits++;
    w.child = undefined;
    const exit: ClusterExit = { pid: w.proc.pid, at: new Date(now).toISOString(), how };
    say(failedStart ? `${w.proc.id} (${w.proc.role}) ${how}; trying again in ${delay} ms` : `${w.proc.id} (${w.proc.role}) pid ${w.proc.pid} exited: ${how}; restarting in ${delay} ms`);
    w.timer = setTimeout(() => {
      this.#restart(w, exit).catch((err: Error) => {
        w.timer = undefined;
        this.#exited(w, `could not be started again (${err.message})`, true);
      });
    }, delay);
  }

  async #restart(w: Watched, exit: ClusterExit): Promise<void> {
    // `timer` stays set until it runs: the poll must not see the old pid gone and schedule a second restart.
    const command = isRedisData(w.proc.role) ? await redisRestartCommand(w.proc, this.#current, () => this.#stop.stopping) : w.proc.command;
    if (this.#stop.stopping) return;
    const child = this.#spawn(w.proc, command);
    const pid = child.pid;
    // Only a failed start reports here (its reason follows the spawn); the supervisor neither signals nor messages a child.
    child.once('error', (err) => {
      if (pid !== undefined) return;
      w.timer = undefined;
      this.#exited(w, `could not be started again (${err.message})`, true);
    });
    if (pid === undefined) return;
    w.timer = undefined;
    w.child = child;
    w.startedAt = Date.now();
    child.once('exit', (code, sig) => this.#exited(w, sig === null ? `exit code ${code}` : `signal ${sig}`));
    this.#recordRestart(w, pid, command, exit);
  }

  #spawn(proc: ClusterProcess, command: readonly string[]): ChildProcess {
    const fd = openSync(proc.log, 'a');
    let child: ChildProcess;
    try {
      // Not detached: in the supervisor's process group (its own, as it was started detached), which
      // `killClusterNow` kills as one. A terminal's Ctrl-C reaches neither.
      child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', fd, fd], env: { ...process.env, ...secretEnv(proc.role, readSecrets(this.#root)) } });
    } finally {
      closeSync(fd);
    }
    child.unref();
    return child;
  }

  /** Synchronous from the spawn on: a SIGTERM from `down` is handled after the manifest names the new pid. */
  #recordRestart(w: Watched, pid: number, command: readonly string[], exit: ClusterExit): void {
    w.proc = { ...w.proc, pid, command, restarts: (w.proc.restarts ?? 0) + 1, lastExit: exit };
    writeFileSync(w.proc.pidFile, `${pid}\n`);
    const replicaOf = command.indexOf('--replicaof');
    const as = !isRedisData(w.proc.role) ? '' : replicaOf < 0 ? ' as a master' : ` as a replica of ${command[replicaOf + 1]}:${command[replicaOf + 2]}`;
    // The line first: whoever sees the new pid in the manifest finds it explained in the log (a
    // reader between the two, on a loaded machine, found the manifest ahead of the log).
    say(`${w.proc.id} (${w.proc.role}) restarted${as}: pid ${pid} (was ${exit.pid}), restart ${w.proc.restarts}`);
    this.#write({ ...this.#current, processes: this.#current.processes.map((p) => (p.id === w.proc.id ? w.proc : p)) });
  }
}

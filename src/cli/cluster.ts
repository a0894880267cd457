// `ringpool cluster up|down|status`: a whole cluster on one host as detached processes, recorded in a manifest.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RingpoolError } from '../errors.js';
import { assertRedisServerAvailable, freePort, redisReplicasOnline, sentinelMaster } from '../store/local-redis.js';

/** The `ringpool` entry point every node process runs (`node bin/ringpool.mjs <role> …`). */
const BIN = fileURLToPath(new URL('../../bin/ringpool.mjs', import.meta.url));
const HOST = '127.0.0.1';
const MANIFEST = 'cluster.json';
const SECRETS = 'secrets.env';

export type ClusterRole = 'supervisor' | 'redis-master' | 'redis-replica' | 'sentinel' | 'scheduler' | 'worker' | 'api';

/**
 * Stop order: the supervisor first (else it would restart what is being stopped), then nothing
 * that others depend on goes before them (Redis last, the master very last).
 */
const STOP_ORDER: readonly ClusterRole[] = ['supervisor', 'api', 'worker', 'scheduler', 'sentinel', 'redis-replica', 'redis-master'];

export interface ClusterUpOptions {
  /** Where logs, pid files, data and `cluster.json` go. @default './.ringpool/cluster' */
  readonly dir?: string;
  /** Worker nodes. @default 3 */
  readonly workers?: number;
  /** Threads per worker node. @default the cores of this host shared among the workers (at least 1) */
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
  dir: './.ringpool/cluster',
  workers: 3,
  basePort: 7100,
  prefix: 'ringpool',
  sentinelName: 'ringpool',
  logLevel: 'info',
  timeoutMs: 60_000,
  redisBinary: 'redis-server',
  graceMs: 10_000,
});

/** One process of the cluster as `cluster.json` records it. */
export interface ClusterProcess {
  readonly role: ClusterRole;
  readonly id: string;
  /** 0 for the supervisor, which listens on none. */
  readonly port: number;
  readonly pid: number;
  /** `http://…` for ringpool processes, `redis://…` for Redis and Sentinel, '' for the supervisor. */
  readonly url: string;
  readonly log: string;
  readonly pidFile: string;
  /** The argv it was (last) started with (secrets are passed in the environment, see `secrets.env`). */
  readonly command: readonly string[];
  /** A regular expression its /proc/PID/cmdline (NULs as spaces) must match before it is signalled. */
  readonly match: string;
  /** How many times the supervisor has restarted it (absent: never). */
  readonly restarts?: number;
  /** How its last run ended, as the supervisor saw it (absent: never restarted). */
  readonly lastExit?: ClusterExit;
}

export interface ClusterExit {
  /** The pid that ended. */
  readonly pid: number;
  /** When the supervisor noticed (ISO 8601). */
  readonly at: string;
  /** `signal SIGKILL`, `exit code 1`, or `status unknown (why)`. */
  readonly how: string;
}

export interface ClusterManifest {
  readonly version: 1;
  /** `starting` until `up` has seen every part ready. */
  readonly state: 'starting' | 'up';
  readonly dir: string;
  readonly createdAt: string;
  readonly apiUrl: string;
  readonly prefix: string;
  readonly sentinelName: string;
  /** `host:port` of each sentinel, as `--sentinels` takes them. */
  readonly sentinels: readonly string[];
  /** `id=URL` of each scheduler, as `--peers` takes them. */
  readonly peers: readonly string[];
  readonly threads: number;
  readonly processes: readonly ClusterProcess[];
}

export interface StopOutcome {
  readonly role: ClusterRole;
  readonly id: string;
  readonly pid: number;
  /** stopped: exited on SIGTERM; killed: needed SIGKILL; gone: was not running; not-ours: the pid now belongs to another program (left alone); stuck: survived SIGKILL. */
  readonly outcome: 'stopped' | 'killed' | 'gone' | 'not-ours' | 'stuck';
}

export interface ClusterDownOptions {
  /** SIGTERM → SIGKILL grace, per stop phase. @default 10000 */
  readonly graceMs?: number;
  /** Also delete the data (Redis AOF, Raft write-ahead files), logs and secrets. @default false */
  readonly purge?: boolean;
}

// ---- the manifest and the files under --dir --------------------------------------------------

export function manifestPath(dir: string): string {
  return join(resolve(dir), MANIFEST);
}

export function readManifest(dir: string): ClusterManifest | undefined {
  const path = manifestPath(dir);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RingpoolError('CONFIG', `${path} is not valid JSON (${(err as Error).message}); stop its processes by hand and delete it`);
  }
  const m = parsed as Partial<ClusterManifest>;
  if (m.version !== 1 || !Array.isArray(m.processes)) throw new RingpoolError('CONFIG', `${path} is not a ringpool cluster manifest (version 1 with processes[])`);
  return parsed as ClusterManifest;
}

/** Written to a temporary file and renamed: a reader never sees half a manifest. */
function writeManifest(manifest: ClusterManifest): void {
  const path = manifestPath(manifest.dir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** `KEY=value` lines (mode 0600): the secrets the processes got in their environment. */
function readSecrets(dir: string): Record<string, string> {
  const path = join(resolve(dir), SECRETS);
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0 && !line.startsWith('#')) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

/** What a process of `role` gets on top of the caller's environment: the secrets it needs (`up` and the supervisor alike). */
function secretEnv(role: ClusterRole, secrets: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  if (role !== 'scheduler' && role !== 'worker' && role !== 'api') return {};
  const env: NodeJS.ProcessEnv = { RINGPOOL_CLUSTER_SECRET: secrets.RINGPOOL_CLUSTER_SECRET };
  if (role === 'api' && secrets.RINGPOOL_API_TOKENS) env.RINGPOOL_API_TOKENS = secrets.RINGPOOL_API_TOKENS;
  return env;
}

// ---- is this pid still the process we started? ---------------------------------------------

/** The command line of `pid` with NULs as spaces; undefined when no such process (or a zombie). */
function commandLineOf(pid: number): string | undefined {
  if (existsSync('/proc/self/cmdline')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The state follows the parenthesised name: a zombie has exited, only its entry remains.
      if (/\)\s+Z\s/.test(stat)) return undefined;
      const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim();
      return text === '' ? undefined : text;
    } catch {
      return undefined;
    }
  }
  // No /proc (macOS, BSD): ask ps.
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'stat=,command='], { encoding: 'utf8' });
  const line = ps.status === 0 ? ps.stdout.trim() : '';
  if (line === '' || line.startsWith('Z')) return undefined;
  return line.replace(/^\S+\s+/, '');
}

type Ownership = 'ours' | 'gone' | 'not-ours';

function ownership(proc: ClusterProcess): Ownership {
  const cmdline = commandLineOf(proc.pid);
  if (cmdline === undefined) return 'gone';
  return new RegExp(proc.match).test(cmdline) ? 'ours' : 'not-ours';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---- stopping --------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntilGone(proc: ClusterProcess, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (ownership(proc) !== 'ours') return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

function signal(proc: ClusterProcess, sig: NodeJS.Signals): void {
  // Checked right before each signal: a pid recycled since the manifest was written is left alone.
  if (ownership(proc) !== 'ours') return;
  try {
    process.kill(proc.pid, sig);
  } catch {
    // exited in between
  }
}

async function stopOne(proc: ClusterProcess, graceMs: number): Promise<StopOutcome> {
  const base = { role: proc.role, id: proc.id, pid: proc.pid };
  const owned = ownership(proc);
  if (owned !== 'ours') return { ...base, outcome: owned };
  // A paused process (SIGSTOP in a test, a debugger) cannot act on SIGTERM until continued.
  signal(proc, 'SIGCONT');
  signal(proc, 'SIGTERM');
  if (await waitUntilGone(proc, graceMs)) return { ...base, outcome: 'stopped' };
  signal(proc, 'SIGKILL');
  return { ...base, outcome: (await waitUntilGone(proc, 5_000)) ? 'killed' : 'stuck' };
}

/** Stops the processes phase by phase (api, workers, schedulers, sentinels, replicas, master). */
async function stopProcesses(processes: readonly ClusterProcess[], graceMs: number): Promise<StopOutcome[]> {
  const outcomes: StopOutcome[] = [];
  for (const role of STOP_ORDER) {
    const phase = processes.filter((p) => p.role === role);
    outcomes.push(...(await Promise.all(phase.map((p) => stopOne(p, graceMs)))));
  }
  return outcomes;
}

// ---- the plan: who runs on which port --------------------------------------------------------

interface Planned {
  readonly role: ClusterRole;
  readonly id: string;
  readonly port: number;
}

async function isPortFree(port: number): Promise<boolean> {
  return await new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, HOST, () => server.close(() => done(true)));
  });
}

/** api, s1-s3, redis-1 (master), redis-2/3, sentinel-1..3, w1..wN: consecutive from `basePort`, or free ports. */
async function planPorts(workers: number, basePort: number): Promise<Planned[]> {
  const layout: Array<Omit<Planned, 'port'>> = [
    { role: 'api', id: 'api' },
    ...[1, 2, 3].map((i) => ({ role: 'scheduler' as const, id: `s${i}` })),
    { role: 'redis-master', id: 'redis-1' },
    { role: 'redis-replica', id: 'redis-2' },
    { role: 'redis-replica', id: 'redis-3' },
    ...[1, 2, 3].map((i) => ({ role: 'sentinel' as const, id: `sentinel-${i}` })),
    ...Array.from({ length: workers }, (_, i) => ({ role: 'worker' as const, id: `w${i + 1}` })),
  ];
  if (basePort === 0) {
    const taken = new Set<number>();
    const plan: Planned[] = [];
    for (const p of layout) {
      let port = await freePort();
      while (taken.has(port)) port = await freePort();
      taken.add(port);
      plan.push({ ...p, port });
    }
    return plan;
  }
  if (basePort + layout.length - 1 > 65_535) throw new RingpoolError('CONFIG', `--base-port ${basePort} leaves no room for ${layout.length} ports; use at most ${65_536 - layout.length}`);
  const plan = layout.map((p, i) => ({ ...p, port: basePort + i }));
  const busy = (await Promise.all(plan.map(async (p) => ((await isPortFree(p.port)) ? undefined : p)))).filter((p) => p !== undefined);
  if (busy.length > 0) {
    throw new RingpoolError(
      'CONFIG',
      `port${busy.length > 1 ? 's' : ''} ${busy.map((p) => `${p.port} (${p.id})`).join(', ')} ${busy.length > 1 ? 'are' : 'is'} in use on ${HOST}; ` +
        `choose another --base-port (this layout needs ${basePort}-${basePort + layout.length - 1}) or --base-port 0 for free ports`,
    );
  }
  return plan;
}

// ---- up ----------------------------------------------------------------------------------------

interface Started {
  readonly proc: ClusterProcess;
  readonly child: ChildProcess;
  exit?: string;
}

function positiveInt(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RingpoolError('CONFIG', `${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  return value;
}

/**
 * Starts Redis master + 2 replicas + 3 sentinels, 3 schedulers (a Raft group), the worker nodes
 * and the API as detached processes that outlive the caller; resolves with the manifest once the
 * API answers, every worker is registered alive and the schedulers have a leader. On failure
 * (or abort) everything started is stopped again and the error names the log to read.
 */
export async function clusterUp(options: ClusterUpOptions = {}): Promise<ClusterManifest> {
  const dir = resolve(options.dir ?? DEFAULTS.dir);
  const workers = positiveInt('workers', options.workers ?? DEFAULTS.workers, 64);
  const threads = positiveInt('threads', options.threads ?? Math.max(1, Math.floor(availableParallelism() / workers)), 1024);
  const basePort = options.basePort ?? DEFAULTS.basePort;
  if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65_535) throw new RingpoolError('CONFIG', `base port must be 0 (free ports) or a port number, got ${String(basePort)}`);
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const prefix = options.prefix ?? DEFAULTS.prefix;
  const sentinelName = options.sentinelName ?? DEFAULTS.sentinelName;
  const redisBinary = options.redisBinary ?? DEFAULTS.redisBinary;
  const progress = options.onProgress ?? (() => {});

  assertRedisServerAvailable(redisBinary);
  mkdirSync(dir, { recursive: true });
  const existing = readManifest(dir);
  if (existing !== undefined) {
    const alive = existing.processes.filter((p) => ownership(p) === 'ours');
    if (alive.length > 0) {
      throw new RingpoolError('CONFIG', `a cluster is already running from ${dir} (${alive.length} of its processes are alive, API ${existing.apiUrl}); run \`ringpool cluster down --dir ${dir}\` first`);
    }
    rmSync(manifestPath(dir), { force: true }); // every process of it is gone: a stale manifest
  }

  const plan = await planPorts(workers, basePort);
  const portOf = (id: string) => (plan.find((p) => p.id === id) as Planned).port;
  const peers = plan.filter((p) => p.role === 'scheduler').map((p) => `${p.id}=http://${HOST}:${p.port}`);
  const sentinels = plan.filter((p) => p.role === 'sentinel').map((p) => `${HOST}:${p.port}`);
  const apiUrl = `http://${HOST}:${portOf('api')}`;
  checkRaftLayout(dir, peers);

  for (const sub of ['logs', 'pids', 'data', 'redis']) mkdirSync(join(dir, sub), { recursive: true });
  // As for every ringpool command, the environment stands in for an option not given.
  const secrets = {
    RINGPOOL_CLUSTER_SECRET: options.clusterSecret ?? (process.env.RINGPOOL_CLUSTER_SECRET || readSecrets(dir).RINGPOOL_CLUSTER_SECRET) ?? randomBytes(24).toString('base64url'),
  };
  const apiTokens = options.apiTokens ?? (process.env.RINGPOOL_API_TOKENS ?? '').split(',').filter(Boolean);
  // Checked here, not only by each process: a bad value would otherwise surface as 7 failed starts.
  if (secrets.RINGPOOL_CLUSTER_SECRET.length < 16) throw new RingpoolError('CONFIG', 'the cluster secret must be at least 16 characters');
  for (const t of apiTokens) if (t.length < 16) throw new RingpoolError('CONFIG', 'an API token must be at least 16 characters');
  writeFileSync(
    join(dir, SECRETS),
    `# secrets of the cluster in ${dir}, given to its processes in the environment (not on the command line)\n` +
      `RINGPOOL_CLUSTER_SECRET=${secrets.RINGPOOL_CLUSTER_SECRET}\n` +
      (apiTokens.length > 0 ? `RINGPOOL_API_TOKENS=${apiTokens.join(',')}\n` : ''),
    { mode: 0o600 },
  );
  chmodSync(join(dir, SECRETS), 0o600); // `mode` applies only when the file is created

  const started: Started[] = [];
  let manifest: ClusterManifest = {
    version: 1,
    state: 'starting',
    dir,
    createdAt: new Date().toISOString(),
    apiUrl,
    prefix,
    sentinelName,
    sentinels,
    peers,
    threads,
    processes: [],
  };
  const record = () => {
    manifest = { ...manifest, processes: started.map((s) => s.proc) };
    writeManifest(manifest);
  };
  writeManifest(manifest);

  const launch = (p: Planned, command: string, args: string[], match: string, env: NodeJS.ProcessEnv = {}): Started => {
    const log = join(dir, 'logs', `${p.id}.log`);
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
    const pidFile = join(dir, 'pids', `${p.id}.pid`);
    writeFileSync(pidFile, `${child.pid}\n`);
    const url = p.role === 'supervisor' ? '' : p.role.startsWith('redis') || p.role === 'sentinel' ? `redis://${HOST}:${p.port}` : `http://${HOST}:${p.port}`;
    const entry: Started = { proc: { role: p.role, id: p.id, port: p.port, pid: child.pid, url, log, pidFile, command: [command, ...args], match }, child };
    child.once('error', (err) => (entry.exit = err.message));
    child.once('exit', (code, sig) => (entry.exit = sig === null ? `exit code ${code}` : `signal ${sig}`));
    started.push(entry);
    record();
    return entry;
  };

  // ---- Redis: master (AOF, min-replicas-to-write 1), two replicas, three sentinels
  const redisArgs = (p: Planned) => {
    const data = join(dir, 'redis', p.id);
    mkdirSync(data, { recursive: true });
    return [
      '--port', String(p.port),
      '--bind', HOST,
      '--protected-mode', 'no',
      '--dir', data,
      '--logfile', '', // stdout: the log file given to the process
      '--save', '',
      // AOF on every node: a promoted replica is the master from then on.
      '--appendonly', 'yes',
      // Refuse writes unless a replica is connected and at most 10 s behind (kept by a promoted replica too).
      '--min-replicas-to-write', '1',
      '--min-replicas-max-lag', '10',
      // A replica that (re)connects resyncs at once instead of waiting 5 s to batch diskless syncs.
      '--repl-diskless-sync-delay', '0',
    ];
  };
  const redisMatch = (p: Planned) => `redis-server.*(:${p.port}\\b|--port ${p.port}\\b)`;

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, watch: readonly Started[]): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (options.signal?.aborted) throw new RingpoolError('CONFIG', `interrupted while waiting for ${what}`);
      const dead = watch.find((s) => s.exit !== undefined);
      if (dead !== undefined) throw new RingpoolError('CONFIG', `${dead.proc.id} (${dead.proc.role}) exited (${dead.exit}) while waiting for ${what}${logTail(dead.proc.log)}`);
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new RingpoolError('CONFIG', `timed out after ${timeoutMs} ms waiting for ${what}; logs are in ${join(dir, 'logs')}`);
      await sleep(100);
    }
  };

  try {
    // First: its own start (loading the CLI) overlaps the waits for Redis and Sentinel instead of
    // competing for the cores with the schedulers'. It waits for `state: up` (see superviseCluster).
    const supervisor = launch({ role: 'supervisor', id: 'supervisor', port: 0 }, process.execPath, [BIN, 'cluster', 'supervise', '--dir', dir], `${escapeRegExp(BIN)} cluster supervise --dir ${escapeRegExp(dir)}( |$)`);
    const masterPlan = plan.find((p) => p.role === 'redis-master') as Planned;
    progress(`starting Redis master ${HOST}:${masterPlan.port}, 2 replicas and 3 sentinels`);
    const master = launch(masterPlan, redisBinary, redisArgs(masterPlan), redisMatch(masterPlan));
    const replicas = plan
      .filter((p) => p.role === 'redis-replica')
      .map((p) => launch(p, redisBinary, [...redisArgs(p), '--replicaof', HOST, String(masterPlan.port)], redisMatch(p)));
    await waitFor('the Redis master and both replicas to link', () => redisReplicasOnline(masterPlan.port, replicas.length), [master, ...replicas]);

    const sentinelProcs = plan
      .filter((p) => p.role === 'sentinel')
      .map((p) => {
        const sdir = join(dir, 'redis', p.id);
        mkdirSync(sdir, { recursive: true });
        const conf = join(sdir, 'sentinel.conf');
        // Sentinel rewrites its config file (known replicas, peers, epochs): a fresh one each `up`.
        writeFileSync(
          conf,
          [
            `port ${p.port}`,
            `bind ${HOST}`,
            'protected-mode no',
            `dir ${sdir}`,
            'logfile ""',
            `sentinel monitor ${sentinelName} ${HOST} ${masterPlan.port} 2`,
            // 1.5 s: a failover takes this plus the sentinels' election (up to 1 s of random
            // desync, then the promotion), and the API must be back within 5 s of a master's loss.
            `sentinel down-after-milliseconds ${sentinelName} 1500`,
            `sentinel failover-timeout ${sentinelName} 10000`,
            `sentinel parallel-syncs ${sentinelName} 1`,
            '',
          ].join('\n'),
        );
        return launch(p, redisBinary, [conf, '--sentinel'], `redis-server.*(:${p.port}\\b|${escapeRegExp(conf)})`);
      });
    await waitFor(
      'the sentinels to name the master',
      async () => {
        const named = await Promise.all(sentinelProcs.map((s) => sentinelMaster(s.proc.port, sentinelName)));
        return named.every((port) => port === masterPlan.port) ? true : undefined;
      },
      sentinelProcs,
    );

    // ---- ringpool: schedulers, workers, api; they find Redis through the sentinels
    const common = [
      '--host', HOST,
      '--sentinels', sentinels.join(','),
      '--sentinel-name', sentinelName,
      '--prefix', prefix,
      '--data-dir', join(dir, 'data'),
      '--log-level', options.logLevel ?? DEFAULTS.logLevel,
      ...(options.jobsDirs ?? []).flatMap((d) => ['--jobs', resolve(d)]),
      ...(options.extraFlags ?? []),
    ];
    const node = (p: Planned, roleArgs: string[]) => {
      // `…/bin/ringpool.mjs worker --worker-id w1 --threads 2 --port 7110 …`: role, id and port must all match.
      const match = `${escapeRegExp(BIN)} ${p.role} ${roleArgs.slice(0, 2).map(escapeRegExp).join(' ')}${roleArgs.length > 0 ? ' ' : ''}.*--port ${p.port}( |$)`;
      const env = secretEnv(p.role, { ...secrets, RINGPOOL_API_TOKENS: apiTokens.join(',') });
      return launch(p, process.execPath, [BIN, p.role, ...roleArgs, '--port', String(p.port), ...common], match, env);
    };
    progress(`starting 3 schedulers, ${workers} worker node${workers > 1 ? 's' : ''} × ${threads} thread${threads > 1 ? 's' : ''} and the API`);
    const schedulerProcs = plan.filter((p) => p.role === 'scheduler').map((p) => node(p, ['--id', p.id, '--peers', peers.join(',')]));
    const workerProcs = plan.filter((p) => p.role === 'worker').map((p) => node(p, ['--worker-id', p.id, '--threads', String(threads)]));
    const api = node(plan.find((p) => p.role === 'api') as Planned, []);
    const ringpool = [...schedulerProcs, ...workerProcs, api];

    await waitFor('every process to answer /healthz', async () => ((await Promise.all(ringpool.map((s) => httpOk(`${s.proc.url}/healthz`)))).every(Boolean) ? true : undefined), started);
    const token = apiTokens[0]?.replace(/:[a-z+]*$/, '');
    await waitFor(
      `the API to show ${workers} alive worker${workers > 1 ? 's' : ''} and a Raft leader`,
      async () => {
        const view = (await getJson(`${apiUrl}/v1/cluster`, token)) as { leaderId: string | null; workers: Array<{ id: string; state: string }> };
        const alive = view.workers.filter((w) => w.state === 'alive' && workerProcs.some((s) => s.proc.id === w.id)).length;
        return alive === workers && view.leaderId !== null ? true : undefined;
      },
      started,
    );
    manifest = { ...manifest, state: 'up' };
    writeManifest(manifest);
    // From here on the supervisor is the only writer of the manifest: `up` only reads its log.
    await waitFor('the supervisor to watch the processes', async () => (supervising(supervisor.proc) ? true : undefined), [supervisor]);
    return manifest;
  } catch (err) {
    progress(`start failed: stopping the ${started.length} processes started`);
    await stopProcesses(
      started.map((s) => s.proc),
      2_000,
    );
    for (const s of started) rmSync(s.proc.pidFile, { force: true });
    rmSync(manifestPath(dir), { force: true });
    throw err;
  }
}

/**
 * The Raft write-ahead files keep the members' addresses: schedulers restarted on other ports would
 * keep calling the old ones. Refuse that, and say how to start afresh.
 */
function checkRaftLayout(dir: string, peers: readonly string[]): void {
  const path = join(dir, 'data', 'raft-peers.json');
  if (existsSync(path) && existsSync(join(dir, 'data', 'raft'))) {
    const before = JSON.parse(readFileSync(path, 'utf8')) as string[];
    if (before.join(',') !== peers.join(',')) {
      throw new RingpoolError(
        'CONFIG',
        `${dir} holds the Raft data of schedulers at ${before.join(',')}, not ${peers.join(',')}: ` +
          `start with the same --base-port, or run \`ringpool cluster down --purge --dir ${dir}\` to start afresh`,
      );
    }
  }
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(peers)}\n`);
}

function logTail(path: string, lines = 15): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return text === '' ? `; its log ${path} is empty` : `; the end of ${path}:\n${text}`;
  } catch {
    return '';
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function getJson(url: string, token?: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000), headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return await res.json();
}

// ---- down ------------------------------------------------------------------------------------

/**
 * Stops exactly the processes `cluster.json` lists (each checked against its command line before
 * every signal), the supervisor first and then the others as the manifest names them once it is
 * gone (restarted ones included), then removes the manifest and pid files. Data and logs stay unless `purge`.
 * Resolves with what happened to each; undefined when `dir` has no manifest.
 */
export async function clusterDown(dir: string = DEFAULTS.dir, options: ClusterDownOptions = {}): Promise<StopOutcome[] | undefined> {
  const root = resolve(dir);
  const graceMs = options.graceMs ?? DEFAULTS.graceMs;
  const before = readManifest(root);
  let manifest = before;
  let outcomes: StopOutcome[] | undefined;
  if (before !== undefined) {
    outcomes = await stopProcesses(before.processes.filter((p) => p.role === 'supervisor'), graceMs);
    // It may have restarted a process since `before` was read: once it is gone the manifest is final.
    manifest = readManifest(root) ?? before;
    outcomes.push(...(await stopProcesses(manifest.processes.filter((p) => p.role !== 'supervisor'), graceMs)));
  }
  if (outcomes?.some((o) => o.outcome === 'stuck')) return outcomes; // keep the manifest: something still runs
  for (const p of manifest?.processes ?? []) rmSync(p.pidFile, { force: true });
  rmSync(manifestPath(root), { force: true });
  if (options.purge) {
    for (const sub of ['data', 'redis', 'logs', 'pids', SECRETS]) rmSync(join(root, sub), { recursive: true, force: true });
    try {
      if (readdirSync(root).length === 0) rmdirSync(root);
    } catch {
      // not ours to remove, or already gone
    }
  }
  return outcomes;
}

/**
 * SIGKILLs, synchronously, every process of the manifest that is still ours, the supervisor and
 * those it restarted first: for an `exit` handler of a test or bench that must not leave a cluster
 * behind. Leaves the manifest in place; returns how many of its processes were running.
 */
export function killClusterNow(dir: string = DEFAULTS.dir): number {
  const kill = (target: number) => {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // exited in between
    }
  };
  const before = (readManifest(dir)?.processes ?? []).filter((p) => ownership(p) === 'ours');
  const running = new Set(before.map((p) => p.pid));
  // The supervisor first, with its process group: that holds the processes it restarted, even one
  // spawned a moment ago and not in the manifest yet (it is the group's leader: started detached).
  for (const p of before) if (p.role === 'supervisor') kill(-p.pid);
  // Read again: the supervisor may have written a restarted pid before it died.
  for (const p of readManifest(dir)?.processes ?? []) {
    if (p.role === 'supervisor' || ownership(p) !== 'ours') continue;
    running.add(p.pid);
    kill(p.pid);
  }
  return running.size;
}

// ---- supervise: restart what exits ----------------------------------------------------------

/*
 * Why one detached supervisor process, started by `up` and recorded in the manifest: `up` returns
 * once the cluster is ready (the CLI then exits), so what watches must outlive it, and `down` must
 * find it to stop it first. The processes `up` started are not its children: it can only see that
 * one is gone (polled through /proc, the check `down` makes), not how it ended. The ones it starts
 * again are its children, so their `exit` gives the code or signal. Every exit is restarted, a clean
 * one too (Kubernetes' `restartPolicy: Always`): the first runs' exit statuses are unknowable, and
 * the way to stop a process of the cluster is `cluster down`. A stopped process (SIGSTOP) still
 * exists and is left alone; a zombie, or a pid now running another program, has exited.
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

function supervising(proc: ClusterProcess): boolean {
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
  const pollMs = options.pollMs ?? SUPERVISE_DEFAULTS.pollMs;
  const resetAfterMs = options.resetAfterMs ?? SUPERVISE_DEFAULTS.resetAfterMs;
  const say = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  let stopping = false;
  let onStop = () => {};
  const stopped = new Promise<void>((done) => (onStop = done));
  const stop = () => {
    stopping = true;
    onStop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  // Wait for `up` to finish: a process that dies while it starts is its failure to report, not ours to restart.
  const parent = process.ppid;
  let manifest: ClusterManifest | undefined;
  for (;;) {
    if (stopping) return 0;
    manifest = readManifest(root);
    if (manifest?.processes.find((p) => p.role === 'supervisor')?.pid !== process.pid) {
      say(`${manifestPath(root)} does not list this supervisor (pid ${process.pid}): nothing to supervise`);
      return 1;
    }
    if (manifest.state === 'up') break;
    if (process.ppid !== parent) {
      say('`cluster up` is gone before the cluster was up: nothing to supervise');
      return 1;
    }
    await sleep(100);
  }
  let current: ClusterManifest = manifest;

  const watched = current.processes.filter((p) => p.role !== 'supervisor').map((proc): Watched => ({ proc, startedAt: Date.now(), quickExits: 0 }));
  const exited = (w: Watched, how: string, failedStart = false) => {
    if (stopping) return;
    const now = Date.now();
    if (now - w.startedAt >= resetAfterMs) w.quickExits = 0;
    const delay = restartDelay(w.quickExits, options);
    w.quickExits++;
    w.child = undefined;
    const exit: ClusterExit = { pid: w.proc.pid, at: new Date(now).toISOString(), how };
    say(failedStart ? `${w.proc.id} (${w.proc.role}) ${how}; trying again in ${delay} ms` : `${w.proc.id} (${w.proc.role}) pid ${w.proc.pid} exited: ${how}; restarting in ${delay} ms`);
    w.timer = setTimeout(() => {
      restart(w, exit).catch((err: Error) => {
        w.timer = undefined;
        exited(w, `could not be started again (${err.message})`, true);
      });
    }, delay);
  };
  const restart = async (w: Watched, exit: ClusterExit) => {
    // `timer` stays set until it runs: the poll must not see the old pid gone and schedule a second restart.
    const command = isRedisData(w.proc.role) ? await redisRestartCommand(w.proc, current, () => stopping) : w.proc.command;
    if (stopping) return;
    const fd = openSync(w.proc.log, 'a');
    let child: ChildProcess;
    try {
      // Not detached: in the supervisor's process group (its own, as it was started detached), which
      // `killClusterNow` kills as one. A terminal's Ctrl-C reaches neither.
      child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', fd, fd], env: { ...process.env, ...secretEnv(w.proc.role, readSecrets(root)) } });
    } finally {
      closeSync(fd);
    }
    child.unref();
    const pid = child.pid;
    // Only a failed start reports here (its reason follows the spawn); the supervisor neither signals nor messages a child.
    child.once('error', (err) => {
      if (pid !== undefined) return;
      w.timer = undefined;
      exited(w, `could not be started again (${err.message})`, true);
    });
    if (pid === undefined) return;
    w.timer = undefined;
    w.child = child;
    w.startedAt = Date.now();
    child.once('exit', (code, sig) => exited(w, sig === null ? `exit code ${code}` : `signal ${sig}`));
    w.proc = { ...w.proc, pid, command, restarts: (w.proc.restarts ?? 0) + 1, lastExit: exit };
    writeFileSync(w.proc.pidFile, `${pid}\n`);
    // Synchronous from the spawn on: a SIGTERM from `down` is handled after the manifest names the new pid.
    current = { ...current, processes: current.processes.map((p) => (p.id === w.proc.id ? w.proc : p)) };
    writeManifest(current);
    const replicaOf = command.indexOf('--replicaof');
    const as = !isRedisData(w.proc.role) ? '' : replicaOf < 0 ? ' as a master' : ` as a replica of ${command[replicaOf + 1]}:${command[replicaOf + 2]}`;
    say(`${w.proc.id} (${w.proc.role}) restarted${as}: pid ${pid} (was ${exit.pid}), restart ${w.proc.restarts}`);
  };

  const poll = setInterval(() => {
    for (const w of watched) if (w.child === undefined && w.timer === undefined && ownership(w.proc) !== 'ours') exited(w, 'status unknown (started by `cluster up`, not a child of the supervisor)');
  }, pollMs);
  say(`${supervisingLine(process.pid)} the ${watched.length} processes of ${root}; restart delay ${restartDelay(0, options)} ms doubling up to ${restartDelay(30, options)} ms, reset after a run of ${resetAfterMs} ms`);

  await stopped;
  clearInterval(poll);
  for (const w of watched) clearTimeout(w.timer);
  say('stopped by a signal; the processes run on (`cluster down` stops them)');
  return 0;
}

// ---- status ----------------------------------------------------------------------------------

export interface ClusterStatus {
  readonly manifest: ClusterManifest;
  readonly processes: ReadonlyArray<ClusterProcess & { readonly alive: boolean }>;
  /** `GET /v1/cluster` of the API, or the error met asking it. */
  readonly view: ClusterViewSummary | { readonly error: string };
}

interface ClusterViewSummary {
  readonly leaderId: string | null;
  readonly term: number;
  readonly schedulers: ReadonlyArray<{ id: string; role: string; term: number }>;
  readonly workers: ReadonlyArray<{ id: string; state: string; threads: number; busy: number; queueDepth: number }>;
  readonly redis: { master: { address: string } | null; replicas: ReadonlyArray<{ address: string; lagBytes?: number }>; lastWriteAcked: boolean | null };
  readonly tasksPerSec: number;
}

export async function clusterStatus(dir: string = DEFAULTS.dir, token?: string): Promise<ClusterStatus | undefined> {
  const manifest = readManifest(dir);
  if (manifest === undefined) return undefined;
  const processes = manifest.processes.map((p) => ({ ...p, alive: ownership(p) === 'ours' }));
  const bearer = token ?? readSecrets(dir).RINGPOOL_API_TOKENS?.split(',')[0]?.replace(/:[a-z+]*$/, '');
  let view: ClusterStatus['view'];
  try {
    view = (await getJson(`${manifest.apiUrl}/v1/cluster`, bearer)) as ClusterViewSummary;
  } catch (err) {
    view = { error: (err as Error).message };
  }
  return { manifest, processes, view };
}

function formatStatus(status: ClusterStatus): string {
  const rows = [
    ['ROLE', 'ID', 'PORT', 'PID', 'ALIVE', 'RESTARTS', 'URL'],
    ...status.processes.map((p) => [p.role, p.id, p.port === 0 ? '-' : String(p.port), String(p.pid), p.alive ? 'yes' : 'NO', String(p.restarts ?? 0), p.url]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  lines.unshift(`cluster in ${status.manifest.dir} (${status.manifest.state}, started ${status.manifest.createdAt}); API ${status.manifest.apiUrl}`, '');
  for (const p of status.processes) if (p.lastExit !== undefined) lines.push(`${p.id}: last exit: ${p.lastExit.how} (pid ${p.lastExit.pid}, ${p.lastExit.at})`);
  lines.push('');
  const v = status.view;
  if ('error' in v) lines.push(`cluster view: the API did not answer (${v.error})`);
  else {
    lines.push(`schedulers: leader ${v.leaderId ?? 'none'} (term ${v.term}); ${v.schedulers.map((s) => `${s.id} ${s.role}`).join(', ')}`);
    lines.push(`workers: ${v.workers.map((w) => `${w.id} ${w.state} ${w.busy}/${w.threads} busy, ${w.queueDepth} queued`).join('; ') || 'none'}`);
    lines.push(
      `redis: master ${v.redis.master?.address ?? 'unknown'}; replicas ${v.redis.replicas.map((r) => `${r.address}${r.lagBytes === undefined ? '' : ` (lag ${r.lagBytes} B)`}`).join(', ') || 'none'}; last write acknowledged: ${v.redis.lastWriteAcked ?? 'n/a'}`,
    );
    lines.push(`throughput: ${v.tasksPerSec} tasks/s`);
  }
  return lines.join('\n');
}

// ---- the command -----------------------------------------------------------------------------

const USAGE = `usage:
  ringpool cluster up [--dir DIR] [--workers N] [--threads N] [--base-port P] [--api-token T] [--jobs DIR] [--timeout-ms N]
      Redis master + 2 replicas + 3 sentinels, 3 schedulers (Raft), N worker nodes (default 3) and the API,
      each a detached process on this host with its log in DIR/logs and its pid in DIR/pids;
      ports consecutive from --base-port (default 7100; 0: free ports). Prints the API URL.
      A supervisor process restarts any that exits (back-off 0.5 s doubling up to 10 s); its log: DIR/logs/supervisor.log
  ringpool cluster down [--dir DIR] [--grace-ms N] [--purge]
      stops exactly the processes in DIR/cluster.json, the supervisor first (SIGTERM, SIGKILL after the grace); --purge also deletes data and logs
  ringpool cluster status [--dir DIR] [--token T] [--json]
      each process (role, id, port, pid, alive, restarts) and the cluster view of the API;
      exit 0 when every process is alive and the API answers, 1 otherwise, 3 when DIR holds no cluster
DIR defaults to ./.ringpool/cluster.`;

const FLAGS = {
  dir: { type: 'string' },
  workers: { type: 'string' },
  threads: { type: 'string' },
  'base-port': { type: 'string' },
  'api-token': { type: 'string', multiple: true },
  jobs: { type: 'string', multiple: true },
  prefix: { type: 'string' },
  'log-level': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'grace-ms': { type: 'string' },
  purge: { type: 'boolean' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new RingpoolError('CONFIG', `--${name} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** `ringpool cluster <up|down|status> [flags]` (and `supervise`, which `up` starts); resolves with the exit code. */
export async function runClusterCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: FLAGS, strict: true, allowPositionals: false });
  } catch (err) {
    console.error(`ringpool cluster: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = resolve(values.dir ?? DEFAULTS.dir);
  try {
    switch (sub) {
      case 'up': {
        const abort = new AbortController();
        const interrupt = () => abort.abort();
        process.once('SIGINT', interrupt);
        process.once('SIGTERM', interrupt);
        try {
          const workers = intFlag('workers', values.workers);
          const threads = intFlag('threads', values.threads);
          const basePort = intFlag('base-port', values['base-port']);
          const timeoutMs = intFlag('timeout-ms', values['timeout-ms']);
          const tokens = (values['api-token'] ?? []).flatMap((t) => t.split(',')).filter(Boolean);
          const manifest = await clusterUp({
            dir,
            ...(workers === undefined ? {} : { workers }),
            ...(threads === undefined ? {} : { threads }),
            ...(basePort === undefined ? {} : { basePort }),
            ...(timeoutMs === undefined ? {} : { timeoutMs }),
            ...(tokens.length > 0 ? { apiTokens: tokens } : {}),
            ...(values.jobs === undefined ? {} : { jobsDirs: values.jobs }),
            ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
            ...(values['log-level'] === undefined ? {} : { logLevel: values['log-level'] }),
            onProgress: (line) => console.error(line),
            signal: abort.signal,
          });
          const count = (role: ClusterRole) => manifest.processes.filter((p) => p.role === role).length;
          console.error(
            `up: ${count('scheduler')} schedulers, ${count('worker')} worker nodes × ${manifest.threads} thread${manifest.threads > 1 ? 's' : ''}, ` +
              `Redis master + ${count('redis-replica')} replicas + ${count('sentinel')} sentinels (${manifest.sentinels.join(',')}, name ${manifest.sentinelName})\n` +
              `manifest ${manifestPath(dir)}, logs ${join(dir, 'logs')} (restarts: supervisor.log); stop with: ringpool cluster down --dir ${dir}`,
          );
          console.log(`ringpool cluster is running at ${manifest.apiUrl}`);
          return 0;
        } finally {
          process.removeListener('SIGINT', interrupt);
          process.removeListener('SIGTERM', interrupt);
        }
      }
      case 'down': {
        const graceMs = intFlag('grace-ms', values['grace-ms']);
        const outcomes = await clusterDown(dir, { ...(graceMs === undefined ? {} : { graceMs }), purge: values.purge ?? false });
        if (outcomes === undefined) {
          console.error(`no cluster in ${dir} (no ${MANIFEST})${values.purge ? '; data purged' : ''}`);
          return 0;
        }
        for (const o of outcomes) console.error(`${o.role.padEnd(13)} ${o.id.padEnd(10)} pid ${String(o.pid).padEnd(8)} ${o.outcome}`);
        const stuck = outcomes.filter((o) => o.outcome === 'stuck');
        if (stuck.length > 0) {
          console.error(`still running after SIGKILL: ${stuck.map((o) => `${o.id} (pid ${o.pid})`).join(', ')}; ${MANIFEST} kept`);
          return 1;
        }
        console.error(`cluster in ${dir} is down${values.purge ? '; data, logs and secrets deleted' : '; data and logs kept (--purge deletes them)'}`);
        return 0;
      }
      case 'supervise':
        // Not in USAGE: `up` starts it, and one started by hand would not be in the manifest (it exits 1).
        return await superviseCluster(dir);
      case 'status': {
        const status = await clusterStatus(dir, values.token ?? process.env.RINGPOOL_TOKEN);
        if (status === undefined) {
          console.error(`no cluster in ${dir} (no ${MANIFEST}); start one with: ringpool cluster up --dir ${dir}`);
          return 3;
        }
        console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
        return status.processes.every((p) => p.alive) && !('error' in status.view) ? 0 : 1;
      }
      case undefined:
      case 'help':
        console.log(USAGE);
        return sub === undefined ? 2 : 0;
      default:
        console.error(`ringpool cluster: unknown subcommand ${JSON.stringify(sub)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    console.error(`ringpool cluster ${sub}: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof RingpoolError && err.code === 'CONFIG' ? 2 : 1;
  }
}

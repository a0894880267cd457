// Worker node processes scaled by the local autoscaler: one piece for `ringpool start --workers …` and the supervisor of `ringpool cluster up --workers MIN..MAX`.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { LocalAutoscaler, type ScaleView } from '../../autoscale/local-autoscaler.js';
import { workerRange, type WorkerRange } from '../../autoscale/worker-range.js';
import type { Config } from '../../config/config.js';
import type { Metrics } from '../../observability/metrics.js';
import { nodeFlagsForChildren } from '../node-flags.js';

const BIN = fileURLToPath(new URL('../../../bin/ringpool.mjs', import.meta.url));

/** After a start, no further start for this long unless no node runs, ms: a new node needs a moment to take tasks. */
const UP_COOLDOWN_MS = 1_000;

/** A worker node process the autoscaler started: a parked spare (`standby`) or a node. */
export interface SpawnedWorker {
  readonly id: string;
  readonly standby: boolean;
  readonly child: ChildProcess;
  /** Its argv, `node …/bin/ringpool.mjs worker [--standby] --worker-id ID <flags>`. */
  readonly command: readonly string[];
  readonly log: string;
}

export interface AutoscaleWorkersOptions {
  readonly range: WorkerRange;
  /** `--scale-down-idle-ms`: the surplus lasts this long before a drain, and as long after any change. */
  readonly scaleDownIdleMs: number;
  /** A drained node still running after this long is killed, ms. @default the autoscaler's (60000) */
  readonly drainTimeoutMs?: number;
  /** The API whose `GET /v1/cluster` carries the leader's recommendation, and a bearer token for it. */
  readonly apiUrl: string;
  readonly token: string | undefined;
  /** What follows `ringpool worker [--standby] --worker-id ID` for every node: Redis, prefix, threads, job folders… */
  readonly workerFlags: readonly string[];
  /** Each process logs to `<logsDir>/<id>.log`. */
  readonly logsDir: string;
  /** On top of this process's environment (the cluster secret of `cluster up`). @default none */
  readonly env?: NodeJS.ProcessEnv;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Told of every process as it is spawned (before anything else can happen to it). */
  readonly onSpawn?: (worker: SpawnedWorker) => void;
  /** Told of every start and drain, as counted in `ringpool_autoscale_decisions_total`. */
  readonly onDecision?: (decision: { readonly direction: 'up' | 'down'; readonly reason: string; readonly node: string }) => void;
}

/**
 * Starts the local autoscaler over worker node processes of this host (`ringpool worker`) between
 * MIN and MAX of `range` (docs/operations.md "Autoscaling"); `close()` drains them all.
 */
export function autoscaleWorkers(o: AutoscaleWorkersOptions): LocalAutoscaler {
  const { minNodes, maxNodes } = o.range;
  mkdirSync(o.logsDir, { recursive: true });
  const autoscaler = new LocalAutoscaler(
    {
      readView: () => readClusterView(o.apiUrl, o.token),
      spawnNode: (id, standby) => {
        const command = autoscaledWorkerCommand(id, standby, o.workerFlags);
        const log = join(o.logsDir, `${id}.log`);
        const child = spawnWorker(command, log, o.env ?? {});
        o.onSpawn?.({ id, standby, child, command, log });
        return child;
      },
      logger: o.logger.child({ role: 'autoscaler' }),
      ...(o.metrics === undefined ? {} : { metrics: o.metrics }),
      ...(o.onDecision === undefined ? {} : { onDecision: o.onDecision }),
    },
    { minNodes, maxNodes, scaleDownIdleMs: o.scaleDownIdleMs, upCooldownMs: UP_COOLDOWN_MS, downCooldownMs: o.scaleDownIdleMs, ...(o.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: o.drainTimeoutMs }) },
  );
  autoscaler.start();
  o.logger.info({ minNodes, maxNodes, scaleDownIdleMs: o.scaleDownIdleMs, logs: o.logsDir }, 'autoscaling worker nodes');
  return autoscaler;
}

export interface StartWorkersArgs {
  readonly config: Config;
  /** The Redis master the workers use (the local pair's, or --redis); absent with --sentinels. */
  readonly redisUrl: string | undefined;
  readonly minReplicas: number;
  /** This process's API, which serves /v1/cluster. */
  readonly apiUrl: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** `ringpool start --workers …`: the nodes log to `<data-dir>/logs/<id>.log` and end with `start`. */
export function startAutoWorkers(args: StartWorkersArgs): LocalAutoscaler {
  const { config } = args;
  return autoscaleWorkers({
    range: workerRange(config),
    scaleDownIdleMs: config.scaleDownIdleMs,
    drainTimeoutMs: config.drainTimeoutMs,
    apiUrl: args.apiUrl,
    token: config.apiTokens[0]?.replace(/:[a-z+]*$/, ''),
    workerFlags: startWorkerFlags(args),
    logsDir: join(resolve(config.dataDir), 'logs'),
    logger: args.logger,
    metrics: args.metrics,
  });
}

/** The flags of every worker node process of `start`: the same Redis, prefix, job folders, threads and timings. */
function startWorkerFlags({ config, redisUrl, minReplicas }: StartWorkersArgs): string[] {
  return [
    ...(redisUrl === undefined ? ['--sentinels', config.sentinels.join(','), '--sentinel-name', config.sentinelName] : ['--redis', redisUrl]),
    '--host', '127.0.0.1',
    '--port', '0',
    '--prefix', config.prefix,
    '--threads', String(config.threads),
    '--min-replicas', String(minReplicas),
    '--lease-ms', String(config.leaseMs),
    '--heartbeat-ms', String(config.heartbeatMs),
    '--drain-timeout-ms', String(config.drainTimeoutMs),
    '--log-level', config.logLevel,
    '--data-dir', config.dataDir,
    ...config.jobsDirs.flatMap((d) => ['--jobs', resolve(d)]),
  ];
}

/** The argv of a worker node process the autoscaler starts (as autoscaledWorkerMatch in commands.ts finds it): with the Node options of node-flags.ts. */
export function autoscaledWorkerCommand(id: string, standby: boolean, workerFlags: readonly string[]): string[] {
  return [process.execPath, ...nodeFlagsForChildren(), BIN, 'worker', ...(standby ? ['--standby'] : []), '--worker-id', id, ...workerFlags];
}

function spawnWorker(command: readonly string[], log: string, env: NodeJS.ProcessEnv): ChildProcess {
  const fd = openSync(log, 'a');
  try {
    // Not detached: the worker nodes belong to whoever runs the autoscaler and end with it (close()
    // drains them; killed, the process group goes). The IPC channel: a standby says `ready` and is
    // called with `go`, and a node drains itself should its parent disappear (parkUntilCalled in main.ts).
    return spawn(command[0]!, command.slice(1), { stdio: ['ignore', fd, fd, 'ipc'], env: { ...process.env, ...env } });
  } finally {
    closeSync(fd);
  }
}

async function readClusterView(apiUrl: string, token: string | undefined): Promise<ScaleView> {
  const res = await fetch(`${apiUrl}/v1/cluster`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`GET /v1/cluster answered ${res.status}`);
  return (await res.json()) as ScaleView;
}

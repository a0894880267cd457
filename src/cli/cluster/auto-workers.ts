// `ringpool start --workers auto|MIN..MAX|N`: worker nodes as child processes of `start`, scaled by the local autoscaler.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { LocalAutoscaler, type ScaleView } from '../../autoscale/local-autoscaler.js';
import { workerRange } from '../../autoscale/worker-range.js';
import type { Config } from '../../config/config.js';
import type { Metrics } from '../../observability/metrics.js';

const BIN = fileURLToPath(new URL('../../../bin/ringpool.mjs', import.meta.url));

/** After a start, no further start for this long unless no node runs, ms: a new node needs a moment to take tasks. */
const UP_COOLDOWN_MS = 1_000;

export interface AutoWorkersArgs {
  readonly config: Config;
  /** The Redis master the workers use (the local pair's, or --redis); absent with --sentinels. */
  readonly redisUrl: string | undefined;
  readonly minReplicas: number;
  /** This process's API, which serves /v1/cluster. */
  readonly apiUrl: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Starts the local autoscaler over worker node processes of this host (`ringpool worker`), each
 * logging to `<data-dir>/logs/<id>.log`; between `--workers` MIN and MAX (docs/operations.md "Autoscaling").
 */
export function startAutoWorkers(args: AutoWorkersArgs): LocalAutoscaler {
  const { config, logger } = args;
  const { minNodes, maxNodes } = workerRange(config);
  const logs = join(resolve(config.dataDir), 'logs');
  mkdirSync(logs, { recursive: true });
  const token = config.apiTokens[0]?.replace(/:[a-z+]*$/, '');
  const autoscaler = new LocalAutoscaler(
    {
      readView: () => readClusterView(args.apiUrl, token),
      spawnNode: (id, standby) => spawnWorker(id, standby, workerFlags(args), join(logs, `${id}.log`)),
      logger: logger.child({ role: 'autoscaler' }),
      metrics: args.metrics,
    },
    { minNodes, maxNodes, scaleDownIdleMs: config.scaleDownIdleMs, upCooldownMs: UP_COOLDOWN_MS, downCooldownMs: config.scaleDownIdleMs, drainTimeoutMs: config.drainTimeoutMs },
  );
  autoscaler.start();
  logger.info({ minNodes, maxNodes, targetDrainMs: config.targetDrainMs, scaleDownIdleMs: config.scaleDownIdleMs, threadsPerNode: config.threads }, 'autoscaling worker nodes');
  return autoscaler;
}

/** The flags of every worker node process: the same Redis, prefix, job folders, threads and timings as `start`. */
function workerFlags({ config, redisUrl, minReplicas }: AutoWorkersArgs): string[] {
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

function spawnWorker(id: string, standby: boolean, flags: readonly string[], log: string): ChildProcess {
  const fd = openSync(log, 'a');
  try {
    // Not detached: the worker nodes belong to this `start` and end with it (close() drains them).
    // The IPC channel: a standby says `ready` and is called with `go` (see parkUntilCalled in main.ts).
    return spawn(process.execPath, [BIN, 'worker', ...(standby ? ['--standby'] : []), '--worker-id', id, ...flags], { stdio: ['ignore', fd, fd, 'ipc'] });
  } finally {
    closeSync(fd);
  }
}

async function readClusterView(apiUrl: string, token: string | undefined): Promise<ScaleView> {
  const res = await fetch(`${apiUrl}/v1/cluster`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`GET /v1/cluster answered ${res.status}`);
  return (await res.json()) as ScaleView;
}

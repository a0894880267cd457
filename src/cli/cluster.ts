// `ringpool cluster up|down|status`: a whole cluster on one host as detached processes, recorded in a manifest.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RingpoolError } from '../errors.js';
import { clusterDown } from './cluster/down.js';
import { DEFAULT_DIR, MANIFEST, manifestPath, type ClusterRole } from './cluster/manifest.js';
import { clusterStatus, formatStatus } from './cluster/status.js';
import { superviseCluster } from './cluster/supervise.js';
import { clusterUp } from './cluster/up.js';

export { clusterDown, killClusterNow, type ClusterDownOptions } from './cluster/down.js';
export { manifestPath, readManifest, type ClusterExit, type ClusterManifest, type ClusterProcess, type ClusterRole } from './cluster/manifest.js';
export type { StopOutcome } from './cluster/processes.js';
export { clusterStatus, type ClusterStatus } from './cluster/status.js';
export { restartDelay, superviseCluster, type SuperviseOptions } from './cluster/supervise.js';
export { clusterUp, type ClusterUpOptions } from './cluster/up.js';

const USAGE = `usage:
  ringpool cluster up [--dir DIR] [--workers N|auto|MIN..MAX] [--threads N] [--base-port P] [--api-token T] [--jobs DIR] [--timeout-ms N]
      Redis master + 2 replicas + 3 sentinels, 3 schedulers (Raft), N worker nodes (default 3) and the API,
      each a detached process on this host with its log in DIR/logs and its pid in DIR/pids;
      ports consecutive from --base-port (default 7100; 0: free ports). Prints the API URL.
      A supervisor process restarts any that exits (back-off 0.5 s doubling up to 10 s); its log: DIR/logs/supervisor.log
      --workers auto|MIN..MAX [--max-workers N] [--scale-down-idle-ms 30000] [--target-drain-ms 10000]
      worker nodes started and drained by the supervisor with the backlog, as \`ringpool start --workers\` does
      (auto: 0 to the cores; MIN may be 0)
  ringpool cluster down [--dir DIR] [--grace-ms N] [--purge]
      stops exactly the processes in DIR/cluster.json, the supervisor first (SIGTERM, SIGKILL after the grace); --purge also deletes data and logs
  ringpool cluster status [--dir DIR] [--token T] [--json]
      each process (role, id, port, pid, alive, restarts) and the cluster view of the API;
      exit 0 when every process is alive and the API answers, 1 otherwise, 3 when DIR holds no cluster
DIR defaults to ./.ringpool/cluster.`;

const FLAGS = {
  dir: { type: 'string' },
  workers: { type: 'string' },
  'max-workers': { type: 'string' },
  'scale-down-idle-ms': { type: 'string' },
  'target-drain-ms': { type: 'string' },
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

function parseFlags(args: string[]) {
  return parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false });
}

type Flags = ReturnType<typeof parseFlags>['values'];

/** `ringpool cluster <up|down|status> [flags]` (and `supervise`, which `up` starts); resolves with the exit code. */
export async function runClusterCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  let values: Flags;
  try {
    values = parseFlags(rest).values;
  } catch (err) {
    console.error(`ringpool cluster: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = resolve(values.dir ?? DEFAULT_DIR);
  try {
    switch (sub) {
      case 'up':
        return await up(dir, values);
      case 'down':
        return await down(dir, values);
      case 'supervise':
        // Not in USAGE: `up` starts it, and one started by hand would not be in the manifest (it exits 1).
        return await superviseCluster(dir);
      case 'status':
        return await status(dir, values);
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

/** `up`: a Ctrl-C while it starts stops what it started. */
async function up(dir: string, values: Flags): Promise<number> {
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    // N, auto or MIN..MAX: checked by clusterUp as `start` checks it.
    const workers = values.workers;
    const maxWorkers = intFlag('max-workers', values['max-workers']);
    const scaleDownIdleMs = intFlag('scale-down-idle-ms', values['scale-down-idle-ms']);
    const targetDrainMs = intFlag('target-drain-ms', values['target-drain-ms']);
    const threads = intFlag('threads', values.threads);
    const basePort = intFlag('base-port', values['base-port']);
    const timeoutMs = intFlag('timeout-ms', values['timeout-ms']);
    const tokens = (values['api-token'] ?? []).flatMap((t) => t.split(',')).filter(Boolean);
    const manifest = await clusterUp({
      dir,
      ...(workers === undefined ? {} : { workers }),
      ...(maxWorkers === undefined ? {} : { maxWorkers }),
      ...(scaleDownIdleMs === undefined ? {} : { scaleDownIdleMs }),
      ...(targetDrainMs === undefined ? {} : { targetDrainMs }),
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
    const count = (role: ClusterRole) => manifest.processes.filter((p) => p.role === role && p.autoscaled === undefined).length;
    const scale = manifest.autoscale;
    const nodes = scale === undefined ? `${count('worker')} worker nodes` : `worker nodes autoscaled ${scale.minNodes}..${scale.maxNodes} (decisions in supervisor.log)`;
    console.error(
      `up: ${count('scheduler')} schedulers, ${nodes} × ${manifest.threads} thread${manifest.threads > 1 ? 's' : ''}, ` +
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

async function down(dir: string, values: Flags): Promise<number> {
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

async function status(dir: string, values: Flags): Promise<number> {
  const status = await clusterStatus(dir, values.token ?? process.env.RINGPOOL_TOKEN);
  if (status === undefined) {
    console.error(`no cluster in ${dir} (no ${MANIFEST}); start one with: ringpool cluster up --dir ${dir}`);
    return 3;
  }
  console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
  return status.processes.every((p) => p.alive) && !('error' in status.view) ? 0 : 1;
}

// What each process of the cluster runs: its argv, the pattern its command line must match before it is signalled, its environment.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST, type Planned } from './plan.js';
import { escapeRegExp } from './processes.js';
import { nodeFlagsForChildren } from '../node-flags.js';

/** The `ringpool` entry point every node process runs (`node bin/ringpool.mjs <role> …`). */
const BIN = fileURLToPath(new URL('../../../bin/ringpool.mjs', import.meta.url));

export interface Command {
  readonly command: string;
  readonly args: readonly string[];
  /** A regular expression its /proc/PID/cmdline (NULs as spaces) must match before it is signalled. */
  readonly match: string;
  /** On top of the caller's environment. */
  readonly env?: NodeJS.ProcessEnv;
}

/** `ringpool cluster supervise --dir D`: the supervisor, which restarts what exits (see superviseCluster). */
export function supervisorCommand(dir: string): Command {
  return { command: process.execPath, args: [...nodeFlagsForChildren(), BIN, 'cluster', 'supervise', '--dir', dir], match: `${escapeRegExp(BIN)} cluster supervise --dir ${escapeRegExp(dir)}( |$)` };
}

/** A Redis data node with its AOF in `<dir>/redis/<id>`: the master, or a replica of `replicaOfPort`. */
export function redisCommand(dir: string, redisBinary: string, p: Planned, replicaOfPort?: number): Command {
  const data = join(dir, 'redis', p.id);
  mkdirSync(data, { recursive: true });
  const args = [
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
  return {
    command: redisBinary,
    args: replicaOfPort === undefined ? args : [...args, '--replicaof', HOST, String(replicaOfPort)],
    match: `redis-server.*(:${p.port}\\b|--port ${p.port}\\b)`,
  };
}

/** A sentinel that monitors the master at `masterPort` as `sentinelName`, from a config file written afresh. */
export function sentinelCommand(dir: string, redisBinary: string, p: Planned, sentinelName: string, masterPort: number): Command {
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
      `sentinel monitor ${sentinelName} ${HOST} ${masterPort} 2`,
      // 1.5 s: a failover takes this plus the sentinels' election (up to 1 s of random
      // desync, then the promotion), and the API must be back within 5 s of a master's loss.
      `sentinel down-after-milliseconds ${sentinelName} 1500`,
      `sentinel failover-timeout ${sentinelName} 10000`,
      `sentinel parallel-syncs ${sentinelName} 1`,
      '',
    ].join('\n'),
  );
  return { command: redisBinary, args: [conf, '--sentinel'], match: `redis-server.*(:${p.port}\\b|${escapeRegExp(conf)})` };
}

export interface RingpoolFlags {
  readonly dir: string;
  readonly sentinels: readonly string[];
  readonly sentinelName: string;
  readonly prefix: string;
  readonly logLevel: string;
  readonly jobsDirs: readonly string[];
  readonly extraFlags: readonly string[];
}

/** The flags every ringpool process of the cluster gets: they find Redis through the sentinels. */
export function commonFlags(o: RingpoolFlags): string[] {
  return [
    '--host', HOST,
    '--sentinels', o.sentinels.join(','),
    '--sentinel-name', o.sentinelName,
    '--prefix', o.prefix,
    '--data-dir', join(o.dir, 'data'),
    '--log-level', o.logLevel,
    ...o.jobsDirs.flatMap((d) => ['--jobs', resolve(d)]),
    ...o.extraFlags,
  ];
}

/** A scheduler, worker or API process: `ringpool <role> <roleArgs> --port P <common>`. */
export function ringpoolCommand(p: Planned, roleArgs: readonly string[], common: readonly string[], env: NodeJS.ProcessEnv): Command {
  // `…/bin/ringpool.mjs worker --worker-id w1 --threads 2 --port 7110 …`: role, id and port must all match.
  const match = `${escapeRegExp(BIN)} ${p.role} ${roleArgs.slice(0, 2).map(escapeRegExp).join(' ')}${roleArgs.length > 0 ? ' ' : ''}.*--port ${p.port}( |$)`;
  return { command: process.execPath, args: [...nodeFlagsForChildren(), BIN, p.role, ...roleArgs, '--port', String(p.port), ...common], match, env };
}

/** The flags of every worker node the supervisor's autoscaler starts (`up --workers MIN..MAX`): a free port, then as `ringpoolCommand`'s workers. */
export function autoscaledWorkerFlags(threads: number, common: readonly string[]): string[] {
  return ['--threads', String(threads), '--port', '0', ...common];
}

/** The command-line pattern of such a worker (`…/bin/ringpool.mjs worker [--standby] --worker-id ID … --data-dir D`): its id and the cluster's data folder. */
export function autoscaledWorkerMatch(id: string, dataDir: string): string {
  return `${escapeRegExp(BIN)} worker (--standby )?--worker-id ${escapeRegExp(id)} .*--data-dir ${escapeRegExp(dataDir)}( |$)`;
}

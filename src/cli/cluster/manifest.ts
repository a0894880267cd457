// The manifest (`cluster.json`) and the secrets file of a cluster `up` started: what runs where, with which secrets.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RingpoolError } from '../../errors.js';

/** Where `up`, `down` and `status` keep a cluster when no --dir is given. */
export const DEFAULT_DIR = './.ringpool/cluster';
export const MANIFEST = 'cluster.json';
export const SECRETS = 'secrets.env';

export type ClusterRole = 'supervisor' | 'redis-master' | 'redis-replica' | 'sentinel' | 'scheduler' | 'worker' | 'api';

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
  /**
   * A worker node process the supervisor's autoscaler started (`up --workers MIN..MAX`): `spare`
   * while parked (loaded, not a node yet), `node` once called. Listed while it runs, never restarted.
   */
  readonly autoscaled?: 'spare' | 'node';
}

/** `up --workers auto|MIN..MAX`: what the supervisor's autoscaler needs, and what it has decided. */
export interface ClusterAutoscale {
  readonly minNodes: number;
  readonly maxNodes: number;
  /** `--scale-down-idle-ms`. */
  readonly scaleDownIdleMs: number;
  /** What follows `ringpool worker [--standby] --worker-id ID` for every node it starts. */
  readonly workerFlags: readonly string[];
  /** Starts and drains so far by `up:<reason>` / `down:<reason>` (as `ringpool_autoscale_decisions_total` counts them for `start`). */
  readonly decisions: Readonly<Record<string, number>>;
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
  /** Present when the worker nodes are autoscaled (`--workers auto|MIN..MAX`): then no worker is planned. */
  readonly autoscale?: ClusterAutoscale;
  readonly processes: readonly ClusterProcess[];
}

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
export function writeManifest(manifest: ClusterManifest): void {
  const path = manifestPath(manifest.dir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** `KEY=value` lines (mode 0600): the secrets the processes got in their environment. */
export function readSecrets(dir: string): Record<string, string> {
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
export function secretEnv(role: ClusterRole, secrets: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  if (role !== 'scheduler' && role !== 'worker' && role !== 'api') return {};
  const env: NodeJS.ProcessEnv = { RINGPOOL_CLUSTER_SECRET: secrets.RINGPOOL_CLUSTER_SECRET };
  if (role === 'api' && secrets.RINGPOOL_API_TOKENS) env.RINGPOOL_API_TOKENS = secrets.RINGPOOL_API_TOKENS;
  return env;
}

/** The secrets of the processes `up` starts. */
export interface ClusterSecrets {
  readonly clusterSecret: string;
  readonly apiTokens: readonly string[];
}

/**
 * The cluster secret (the option, else the environment's, else the one `dir` kept, else a new one)
 * and the API tokens (the option, else the environment's), checked, and written to `secrets.env`.
 */
export function writeSecrets(dir: string, options: { readonly clusterSecret?: string; readonly apiTokens?: readonly string[] }): ClusterSecrets {
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
  return { clusterSecret: secrets.RINGPOOL_CLUSTER_SECRET, apiTokens };
}

// Typed configuration: defaults, environment and flags, validated with messages that say what to fix.
import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BlobStoreSettingsSchema } from '../blobs/blob-store.js';
import { RingpoolError } from '../errors.js';
import { NODE_ID, NODE_ID_BODY } from '../node-id.js';
import { TenantsSchema } from './tenants.js';

/** The folder of example job modules shipped with ringpool. */
export const BUILTIN_JOBS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../jobs');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigSchema = z.object({
  /** Redis master URL; when absent (and no sentinels), `start` runs a local master + replica. */
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  /** Sentinel addresses `host:port`; when given, the master is found (and followed) through them. */
  sentinels: z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'each sentinel must be host:port')).default([]),
  /** The master name the sentinels monitor. */
  sentinelName: z.string().min(1).default('ringpool'),
  /** Where the API reads job lists and searches: the master, or a replica (stale by at most the replication lag). */
  readFrom: z.enum(['master', 'replica']).default('master'),
  /** The replica to read lists from with `--read-from replica` and `--redis` (with Sentinel one is found). */
  replicaUrl: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65_535).default(3000),
  dataDir: z.string().min(1).default('./.ringpool'),
  /** Extra folders of job modules, after the built-in `jobs/`. */
  jobsDirs: z.array(z.string().min(1)).default([]),
  threads: z.coerce.number().int().min(1).max(1024).default(availableParallelism()),
  workerId: z.string().regex(NODE_ID, 'letters, digits, _ and - only').default(hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40) || 'worker'),
  prefix: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, '1-64 of [A-Za-z0-9:_-]').default('ringpool'),
  /** Replicas that must confirm a result (WAIT); default 1 with the local replica, else 0. */
  minReplicas: z.coerce.number().int().min(0).max(16).optional(),
  /** `TOKEN` (every scope) or `TOKEN:scope+scope` with scopes submit, read, admin; `@tenant` after either names its tenant (default `default`). */
  apiTokens: z.array(z.string().min(16, 'an API token must be at least 16 characters')).default([]),
  /** Shared secret that authenticates Raft messages and worker registrations (HMAC). */
  clusterSecret: z.string().min(16, 'the cluster secret must be at least 16 characters').optional(),
  /** This scheduler's id in the Raft group. */
  schedulerId: z.string().regex(NODE_ID, 'letters, digits, _ and - only').default('s1'),
  /** Every scheduler of the Raft group as `id=URL` (this one included); empty: a group of one. */
  peers: z.array(z.string().regex(new RegExp(`^${NODE_ID_BODY}=https?://\\S+$`), 'each peer must be id=http://host:port')).default([]),
  /**
   * Where this scheduler's Raft thread takes its peers' messages itself (docs/architecture.md, "Raft in
   * a thread of its own"), on `host`: 0 any free port (peers learn it from the node's answers), a
   * port number where only fixed ports are let through, `off` to take every message through the
   * node's server (`--peers` URLs) where peers cannot reach other ports.
   */
  raftDirectPort: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65_535)]).default(0),
  /** A worker whose heartbeat is older than this is presumed dead, ms. */
  leaseMs: z.coerce.number().int().min(200).max(600_000).default(2000),
  heartbeatMs: z.coerce.number().int().min(50).max(60_000).default(500),
  /** A process whose Redis connections stay unhealthy this long exits non-zero to be restarted, ms; 0: never. */
  stuckAfterMs: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** A stop signal ends the process within this time, stuck or not (a worker drains meanwhile), ms. */
  drainTimeoutMs: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  maxTasksPerJob: z.coerce.number().int().min(1).default(10_000_000),
  /** Largest JSON result of one task, bytes. */
  maxTaskResultBytes: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
  /** Largest reduced result of one job (JSON or image bytes). */
  maxJobResultBytes: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
  /** Bounded loads: a worker node holds at most this × the mean in-flight tasks (by threads); 0: keys go to their ring owner whatever its load. */
  loadBound: z.coerce.number().refine((v) => v === 0 || (v >= 1 && v <= 100), 'must be a factor from 1 to 100 such as 1.25, or 0 to place by the ring alone').default(1.25),
  /** Stragglers (docs/architecture.md §5): slow nodes weighed in placement, queue entries waiting longer than this on a node while another has free threads move there (at once off a measured straggler), a straggler's last entries copied, ms; 0: off. On by default: docs/performance.md, Placement. */
  stealAfterMs: z.coerce.number().int().min(0).max(3_600_000).default(1000),
  /** Bytes of values a worker node keeps in its cache (`ctx.cache`, shared by its threads); 0: nothing is kept. */
  cacheBytes: z.coerce.number().int().min(0).max(2 ** 40).default(256 * 1024 * 1024),
  /** Jobs queued or running per API token (or per client without tokens) before 429. */
  maxJobsInFlight: z.coerce.number().int().min(1).default(1000),
  bodyLimitBytes: z.coerce.number().int().min(1024).default(1_048_576),
  /** Largest job module `POST /v1/job-types` accepts (admin), bytes. */
  maxModuleBytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1_048_576),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** Webhook of jobs submitted here without a `callback` option (docs/webhooks.md). */
  webhookUrl: z.string().max(2048).refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL').optional(),
  /** Signs webhooks whose callback has no secret of its own (Ringpool-Signature). */
  webhookSecret: z.string().min(16, 'the webhook secret must be at least 16 characters').optional(),
  /** Private ranges webhooks may reach, as CIDR (`10.1.0.0/16`, `127.0.0.1/32`). */
  webhookAllow: z.array(z.string().refine(isCidr, 'each must be a CIDR range such as 10.1.0.0/16 or ::1/128')).default([]),
  /** A webhook not delivered this long after its job ended is given up, ms. */
  webhookRetryForMs: z.coerce.number().int().min(1000).max(7 * 86_400_000).default(3_600_000),
  /** Tenants by name (config file only, docs/tenants.md): weight, limits, default webhooks; empty: every tenant a token names is implicit. */
  tenants: TenantsSchema,
  /**
   * Object storage for inputs and results by reference (docs/blobs.md): `s3://bucket/prefix` or
   * `file:///dir` (flag, env), or in the config file `{ url, endpoint?, region?, forcePathStyle? }`.
   * Credentials: the AWS SDK's own chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ~/.aws), never here.
   */
  blobStore: z.union([z.string().transform((url) => ({ url })), z.record(z.string(), z.unknown())]).pipe(BlobStoreSettingsSchema).optional(),
  /** With a blob store, a task or job result of more JSON bytes than this is stored there and Redis keeps a reference. */
  blobResultThreshold: z.coerce.number().int().min(0).default(1_048_576),
  /** An OTLP/HTTP collector's base URL: traces of every job are sent there; absent: tracing off, the SDK not loaded. */
  /**
   * Worker nodes `ringpool start` runs as processes of its own: `auto` (0 to --max-workers, from the
   * backlog), `MIN..MAX`, or a fixed N; absent: one worker in the process itself (docs/operations.md "Autoscaling").
   */
  workers: z.string().regex(/^(auto|\d{1,3}|\d{1,3}\.\.\d{1,3})$/, 'must be auto, a number of worker nodes such as 3, or a range MIN..MAX such as 0..4').optional(),
  /** Most worker nodes `--workers auto` starts (and the most the backlog signal recommends); default: the cores of this host. */
  maxWorkers: z.coerce.number().int().min(1).max(1000).optional(),
  /** The backlog should drain within this time: more worker nodes are recommended when it would take longer, ms. */
  targetDrainMs: z.coerce.number().int().min(100).max(86_400_000).default(10_000),
  /** A worker node the backlog no longer needs is drained after this long without need, ms. */
  scaleDownIdleMs: z.coerce.number().int().min(0).max(86_400_000).default(30_000),
  otlpEndpoint: z.string().regex(/^https?:\/\/[^\s/]+\S*$/, 'must be the http:// or https:// URL of an OTLP/HTTP collector, e.g. http://localhost:4318').optional(),
});

/** `ADDRESS/BITS` or a bare address. */
function isCidr(text: string): boolean {
  const [address = '', bits, extra] = text.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
}

export type Config = z.output<typeof ConfigSchema>;

/** Environment variable → config field. Only this module reads process.env. */
export const ENV: Readonly<Record<string, keyof Config>> = {
  RINGPOOL_REDIS_URL: 'redisUrl',
  RINGPOOL_HOST: 'host',
  RINGPOOL_PORT: 'port',
  RINGPOOL_DATA_DIR: 'dataDir',
  RINGPOOL_JOBS: 'jobsDirs',
  RINGPOOL_THREADS: 'threads',
  RINGPOOL_WORKER_ID: 'workerId',
  RINGPOOL_PREFIX: 'prefix',
  RINGPOOL_MIN_REPLICAS: 'minReplicas',
  RINGPOOL_API_TOKENS: 'apiTokens',
  RINGPOOL_SENTINELS: 'sentinels',
  RINGPOOL_SENTINEL_NAME: 'sentinelName',
  RINGPOOL_READ_FROM: 'readFrom',
  RINGPOOL_REPLICA_URL: 'replicaUrl',
  RINGPOOL_CLUSTER_SECRET: 'clusterSecret',
  RINGPOOL_SCHEDULER_ID: 'schedulerId',
  RINGPOOL_PEERS: 'peers',
  RINGPOOL_LEASE_MS: 'leaseMs',
  RINGPOOL_HEARTBEAT_MS: 'heartbeatMs',
  RINGPOOL_STUCK_AFTER_MS: 'stuckAfterMs',
  RINGPOOL_DRAIN_TIMEOUT_MS: 'drainTimeoutMs',
  RINGPOOL_MAX_TASKS_PER_JOB: 'maxTasksPerJob',
  RINGPOOL_MAX_TASK_RESULT_BYTES: 'maxTaskResultBytes',
  RINGPOOL_MAX_JOB_RESULT_BYTES: 'maxJobResultBytes',
  RINGPOOL_MAX_JOBS_IN_FLIGHT: 'maxJobsInFlight',
  RINGPOOL_LOAD_BOUND: 'loadBound',
  RINGPOOL_CACHE_BYTES: 'cacheBytes',
  RINGPOOL_STEAL_AFTER_MS: 'stealAfterMs',
  RINGPOOL_RAFT_DIRECT_PORT: 'raftDirectPort',
  RINGPOOL_BODY_LIMIT: 'bodyLimitBytes',
  RINGPOOL_MAX_MODULE_BYTES: 'maxModuleBytes',
  RINGPOOL_LOG_LEVEL: 'logLevel',
  RINGPOOL_WEBHOOK_URL: 'webhookUrl',
  RINGPOOL_WEBHOOK_SECRET: 'webhookSecret',
  RINGPOOL_WEBHOOK_ALLOW: 'webhookAllow',
  RINGPOOL_WEBHOOK_RETRY_FOR_MS: 'webhookRetryForMs',
  RINGPOOL_OTLP_ENDPOINT: 'otlpEndpoint',
  RINGPOOL_BLOB_STORE: 'blobStore',
  RINGPOOL_BLOB_RESULT_THRESHOLD: 'blobResultThreshold',
  RINGPOOL_WORKERS: 'workers',
  RINGPOOL_MAX_WORKERS: 'maxWorkers',
  RINGPOOL_TARGET_DRAIN_MS: 'targetDrainMs',
  RINGPOOL_SCALE_DOWN_IDLE_MS: 'scaleDownIdleMs',
};

export const LIST_FIELDS: ReadonlySet<string> = new Set<keyof Config>(['jobsDirs', 'apiTokens', 'sentinels', 'peers', 'webhookAllow']);

/** Secrets are shown masked by `ringpool config` and never logged. */
export const SECRET_FIELDS: ReadonlySet<keyof Config> = new Set(['apiTokens', 'clusterSecret', 'webhookSecret']);

/** Flags win over the environment, which wins over the defaults. */
export function loadConfig(flags: Partial<Record<keyof Config, unknown>>, env: NodeJS.ProcessEnv = process.env, configFile?: string): Config {
  const raw: Record<string, unknown> = { ...readConfigFile(configFile ?? env.RINGPOOL_CONFIG) };
  for (const [name, field] of Object.entries(ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    raw[field] = LIST_FIELDS.has(field) ? value.split(field === 'jobsDirs' ? ':' : ',').filter(Boolean) : value;
  }
  for (const [field, value] of Object.entries(flags)) if (value !== undefined) raw[field] = value;
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.map(String).join('.')} (${whereSet(String(i.path[0]))}): ${issueMessage(i)}`);
    throw new RingpoolError('CONFIG', `invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Where a field is set: its flag and environment variable, or the config file for those without (`tenants`). */
function whereSet(field: string): string {
  return CONFIG_FILE_ONLY.has(field) ? 'config file' : `${flagName(field)} or ${envName(field)}`;
}

/** Settings only the config file holds (objects: no flag or environment variable). */
const CONFIG_FILE_ONLY: ReadonlySet<string> = new Set(['tenants']);

/** A zod issue's message; a record key's (a tenant name) is the key schema's own message. */
function issueMessage(issue: { message: string; code?: string; issues?: ReadonlyArray<{ message: string }> }): string {
  return issue.code === 'invalid_key' && issue.issues?.[0] !== undefined ? issue.issues[0].message : issue.message;
}

/** A JSON file of config fields (`{"redisUrl": "…", "threads": 4}`): below flags and environment. */
function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (path === undefined || path === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RingpoolError('CONFIG', `cannot read the config file ${path}: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RingpoolError('CONFIG', `the config file ${path} must hold a JSON object of settings, e.g. {"port": 3000}`);
  }
  const known = new Set(Object.keys(ConfigSchema.shape));
  const unknown = Object.keys(parsed).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new RingpoolError('CONFIG', `the config file ${path} has unknown settings: ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  return parsed as Record<string, unknown>;
}

/** The config as `ringpool config` prints it: secrets masked. */
export function maskedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(config)) {
    if (!SECRET_FIELDS.has(field as keyof Config) || value === undefined) out[field] = value;
    else out[field] = Array.isArray(value) ? value.map((v) => mask(String(v))) : mask(String(value));
  }
  if (typeof out.redisUrl === 'string') out.redisUrl = out.redisUrl.replace(/\/\/([^@/]*)@/, '//***@');
  // A tenant webhook's secret signs its deliveries: masked like the other secrets.
  out.tenants = Object.fromEntries(
    Object.entries(config.tenants).map(([name, t]) => [name, { ...t, webhooks: t.webhooks.map((w) => (w.secret === undefined ? w : { ...w, secret: mask(w.secret) })) }]),
  );
  return out;
}

function mask(secret: string): string {
  const scopes = secret.lastIndexOf(':');
  return `*** (${secret.length} chars)${scopes > 0 ? secret.slice(scopes) : ''}`;
}

export function jobDirs(config: Config): string[] {
  return [BUILTIN_JOBS_DIR, ...config.jobsDirs.map((d) => resolve(d))];
}

export function redisDataDir(config: Config): string {
  return join(resolve(config.dataDir), 'redis');
}

/**
 * BENCH ONLY: `RINGPOOL_BENCH_SLOWDOWN=k` (k > 1) makes this process's worker threads k× slower
 * (each task is followed by (k − 1)× its run time of sleep on its thread), so the placement bench
 * can measure a node that is alive but slow (docs/performance.md, placement). Not a config field,
 * never a flag: 1 (off) when unset or not a number > 1.
 */
export function benchSlowdown(env: NodeJS.ProcessEnv = process.env): number {
  const k = Number(env.RINGPOOL_BENCH_SLOWDOWN);
  return Number.isFinite(k) && k > 1 ? Math.min(k, 100) : 1;
}

export function flagName(field: string): string {
  const special: Record<string, string> = {
    redisUrl: '--redis',
    replicaUrl: '--replica',
    jobsDirs: '--jobs',
    apiTokens: '--api-token',
    bodyLimitBytes: '--body-limit',
    schedulerId: '--id',
    sentinels: '--sentinels',
  };
  return special[field] ?? `--${field.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;
}

export function envName(field: string): string {
  return Object.entries(ENV).find(([, f]) => f === field)?.[0] ?? '(none)';
}

// Shared by the benchmark suites: a local Redis pair and a ringpool node (in this process or as processes).
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startLocalRedisPair, type LocalRedisPair } from '../src/cli/local-cluster.js';
import { loadConfig, type Config } from '../src/config/config.js';
import { startNode, type RunningNode } from '../src/node/node.js';
import { startProcessCluster, type ProcessCluster, type ProcessClusterOptions } from '../test/helpers/process-cluster.js';
import { killAllSpawned } from '../test/helpers/processes.js';
import { benchTempDir, removeTempDir } from './cleanup.js';

export const BENCH_JOBS = fileURLToPath(new URL('./jobs', import.meta.url));

export interface BenchCluster {
  readonly redis: LocalRedisPair;
  readonly node: RunningNode;
  readonly url: string;
  /** Headers every request of the harness sends: the `token` given to startBenchCluster, if any. */
  readonly headers: Readonly<Record<string, string>>;
  submit(job: string, input: unknown, options?: unknown): Promise<string>;
  /** Polls until the job ends; returns its record. */
  wait(id: string, pollMs?: number): Promise<{ status: string; progress: { done: number; total: number | null }; error: unknown }>;
  result(id: string): Promise<unknown>;
  close(): Promise<void>;
}

/** What the running benches started, stopped by `stopEverything` when the run is interrupted. */
const started = new Set<() => Promise<void>>();

/** Stops every Redis pair and node the benches started and have not stopped yet (SIGINT/SIGTERM). */
export async function stopEverything(): Promise<void> {
  killAllSpawned();
  await Promise.allSettled([...started].map((stop) => stop()));
}

/** A local Redis pair under a new temporary directory, stopped (and the directory removed) by `stop` or by `stopEverything`. */
export async function startTrackedRedis(name: string): Promise<{ redis: LocalRedisPair; dir: string; stop: () => Promise<void> }> {
  const dir = benchTempDir(name);
  const redis = await startLocalRedisPair(dir);
  const stop = async () => {
    started.delete(stop);
    await redis.stop();
    removeTempDir(dir);
  };
  started.add(stop);
  return { redis, dir, stop };
}

/** `token`: sent as a bearer token by every request of the harness (a cluster started with `apiTokens`). */
export async function startBenchCluster(overrides: Partial<Config> = {}, { token }: { token?: string } = {}): Promise<BenchCluster> {
  const { redis, dir, stop: stopRedis } = await startTrackedRedis('bench');
  const config = { ...loadConfig({ port: 0, jobsDirs: [BENCH_JOBS], logLevel: 'warn', prefix: `bench-${Date.now()}`, dataDir: dir }, {}), ...overrides };
  let node: RunningNode;
  try {
    node = await startNode({ ...config, redisUrl: redis.masterUrl, minReplicas: overrides.minReplicas ?? 1 }, { api: true, scheduler: true, worker: true }, pino({ level: 'warn' }));
  } catch (err) {
    // A node that failed to start must not leave its Redis pair running (seen in session 2).
    await stopRedis();
    throw err;
  }
  const url = node.url as string;
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const json = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${url}${path}`, { ...init, headers: { ...headers, ...(init?.headers as Record<string, string> | undefined) } });
    const body = (await res.json()) as any;
    if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  return {
    redis,
    node,
    url,
    headers,
    async submit(job, input, options) {
      const body = await json('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job, input, ...(options ? { options } : {}) }) });
      return body.id as string;
    },
    async wait(id, pollMs = 20) {
      for (;;) {
        const job = await json(`/v1/jobs/${id}`);
        if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async result(id) {
      return (await json(`/v1/jobs/${id}/result`)).result;
    },
    async close() {
      await node.close();
      await stopRedis();
    },
  };
}

/**
 * Runs `fn` against a WAIT-acked local Redis pair and a cluster of real ringpool processes on it;
 * stops them all and removes their files afterwards, whatever `fn` did.
 */
export async function withProcessCluster<T>(options: Omit<ProcessClusterOptions, 'redisUrl'> & { name: string }, fn: (cluster: ProcessCluster) => Promise<T>): Promise<T> {
  const { redis, stop: stopRedis } = await startTrackedRedis(options.name);
  try {
    const cluster = await startProcessCluster({ ...options, redisUrl: redis.masterUrl, flags: ['--min-replicas', '1', ...(options.flags ?? [])] });
    try {
      return await fn(cluster);
    } finally {
      await cluster.stop();
    }
  } finally {
    killAllSpawned();
    await stopRedis();
  }
}

export function hasFlag(args: readonly string[], name: string): boolean {
  return args.includes(`--${name}`);
}

export function stringFlag(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
}

export function numberFlag(args: readonly string[], name: string, fallback: number): number {
  return Number(stringFlag(args, name, String(fallback)));
}

// A cluster of real ringpool processes (scheduler, workers, api) on one Redis, for the multi-process tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnRingpool, type Spawned } from './processes.js';
import { uniquePrefix } from './prefix.js';

const FIXTURE_JOBS = new URL('../fixtures/jobs', import.meta.url).pathname;

export interface ProcessClusterOptions {
  readonly redisUrl: string;
  readonly workers: ReadonlyArray<{ id: string; threads: number }>;
  /** Extra flags for every process (e.g. --lease-ms). */
  readonly flags?: readonly string[];
  readonly name?: string;
}

export interface ProcessCluster {
  readonly prefix: string;
  readonly url: string;
  readonly redis: Redis;
  readonly scheduler: Spawned;
  readonly workers: Map<string, Spawned>;
  readonly api: Spawned;
  startWorker(id: string, threads: number): Promise<Spawned>;
  /** JSON of the API, throwing on a non-2xx answer. */
  call(path: string, init?: { method?: string; body?: unknown }): Promise<any>;
  waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export async function startProcessCluster(options: ProcessClusterOptions): Promise<ProcessCluster> {
  const prefix = uniquePrefix(options.name ?? 'procs');
  const dataDir = mkdtempSync(join(tmpdir(), `ringpool-${prefix}-`));
  const common = ['--redis', options.redisUrl, '--prefix', prefix, '--jobs', FIXTURE_JOBS, '--log-level', 'warn', ...(options.flags ?? [])];
  const workers = new Map<string, Spawned>();
  const startWorker = async (id: string, threads: number) => {
    const w = spawnRingpool(['worker', ...common, '--worker-id', id, '--threads', String(threads), '--port', '0']);
    workers.set(id, w);
    return w;
  };
  const scheduler = spawnRingpool(['scheduler', ...common, '--port', '0', '--data-dir', dataDir]);
  for (const w of options.workers) await startWorker(w.id, w.threads);
  const api = spawnRingpool(['api', ...common, '--port', '0']);
  const [, url] = await api.waitFor(/running at (http:\S+)/, 60_000);
  const redis = new Redis(options.redisUrl);
  const call = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      ...(init.body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) }),
    });
    const body = (await res.json()) as any;
    if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const cluster: ProcessCluster = {
    prefix,
    url: url as string,
    redis,
    scheduler,
    workers,
    api,
    startWorker,
    call,
    waitFor,
    async stop() {
      const all = [scheduler, api, ...workers.values()];
      for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      const timer = setTimeout(() => all.forEach((p) => p.child.kill('SIGKILL')), 10_000);
      await Promise.all(all.map((p) => p.exited));
      clearTimeout(timer);
      redis.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await waitFor('every worker to register', async () => {
    const view = await call('/v1/cluster');
    return view.workers.filter((w: { state: string }) => w.state === 'alive').length === options.workers.length;
  });
  return cluster;
}

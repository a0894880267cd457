// A cluster of real ringpool processes (schedulers, workers, api) on one Redis, for the multi-process tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/store/local-redis.js';
import { uniquePrefix } from './prefix.js';
import { spawnRingpool, type Spawned } from './processes.js';

const FIXTURE_JOBS = new URL('../fixtures/jobs', import.meta.url).pathname;

export interface ProcessClusterOptions {
  readonly redisUrl: string;
  /** `env`: extra environment of that worker's process (e.g. the bench-only RINGPOOL_BENCH_SLOWDOWN). */
  readonly workers: ReadonlyArray<{ id: string; threads: number; env?: NodeJS.ProcessEnv }>;
  /** Scheduler replicas in the Raft group. @default 1 */
  readonly schedulers?: number;
  /** Route every scheduler → scheduler link through a proxy the test can cut (partitions). @default false */
  readonly raftProxies?: boolean;
  /** Extra flags for every process (e.g. --lease-ms). */
  readonly flags?: readonly string[];
  readonly name?: string;
  /** Where a scheduler reaches Redis, when not `redisUrl` (e.g. through a proxy the test can cut). */
  readonly schedulerRedisUrl?: (id: string) => string;
}

export interface SchedulerStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string;
  readonly commitIndex: number;
}

export interface ProcessCluster {
  readonly prefix: string;
  readonly url: string;
  readonly redis: Redis;
  readonly schedulerIds: readonly string[];
  readonly schedulers: Map<string, Spawned>;
  readonly workers: Map<string, Spawned>;
  readonly api: Spawned;
  startWorker(id: string, threads: number): Promise<Spawned>;
  /** (Re)starts scheduler `id` on its port with its data dir. */
  startScheduler(id: string): Spawned;
  /** The base URL of scheduler `id` (/status, /readyz, /metrics). */
  schedulerUrl(id: string): string;
  /** Its Raft status, or undefined when it does not answer (killed, stopped). */
  status(id: string): Promise<SchedulerStatus | undefined>;
  /** Waits for a leader among `among` (default: all) with a term above `aboveTerm`. */
  waitForLeader(options?: { among?: readonly string[]; aboveTerm?: number; timeoutMs?: number }): Promise<SchedulerStatus>;
  /** Cuts (or heals) every Raft link to and from `id`: a partition of one. */
  isolate(id: string, cut: boolean): void;
  /** JSON of the API, throwing on a non-2xx answer. */
  call(path: string, init?: { method?: string; body?: unknown }): Promise<any>;
  waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  waitForJobEnd(id: string, timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

interface LinkProxy {
  readonly port: number;
  blocked: boolean;
  close(): Promise<void>;
}

/** An HTTP forwarder for one direction of one Raft link; when blocked it answers nothing useful. */
async function startLinkProxy(targetPort: number): Promise<LinkProxy> {
  const port = await freePort();
  const proxy: LinkProxy = { port, blocked: false, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (proxy.blocked) {
        res.destroy(); // as if the network dropped it
        return;
      }
      const headers: Record<string, string> = {};
      // Nor the Raft thread's direct port (x-raft-direct-port, either way): learnt, it would route around this link.
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'x-raft-direct-port') headers[k] = v;
      fetch(`http://127.0.0.1:${targetPort}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, body: Buffer.concat(chunks) })
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  proxy.close = () => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
  return proxy;
}

export async function startProcessCluster(options: ProcessClusterOptions): Promise<ProcessCluster> {
  const prefix = uniquePrefix(options.name ?? 'procs');
  const dataDir = mkdtempSync(join(tmpdir(), `ringpool-${prefix}-`));
  const common = ['--prefix', prefix, '--jobs', FIXTURE_JOBS, '--log-level', 'warn', ...(options.flags ?? [])];
  const schedulerIds = Array.from({ length: options.schedulers ?? 1 }, (_, i) => `s${i + 1}`);
  const ports = new Map<string, number>();
  for (const id of schedulerIds) ports.set(id, await freePort());
  // proxies.get(`${from}>${to}`): how `from` reaches `to`.
  const proxies = new Map<string, LinkProxy>();
  if (options.raftProxies) {
    for (const from of schedulerIds) for (const to of schedulerIds) if (from !== to) proxies.set(`${from}>${to}`, await startLinkProxy(ports.get(to) as number));
  }
  const peersFor = (self: string) =>
    schedulerIds.map((id) => `${id}=http://127.0.0.1:${id === self ? ports.get(id) : (proxies.get(`${self}>${id}`)?.port ?? ports.get(id))}`).join(',');

  const schedulers = new Map<string, Spawned>();
  const startScheduler = (id: string) => {
    const s = spawnRingpool(['scheduler', '--redis', options.schedulerRedisUrl?.(id) ?? options.redisUrl, ...common, '--id', id, '--peers', peersFor(id), '--port', String(ports.get(id)), '--data-dir', dataDir]);
    schedulers.set(id, s);
    return s;
  };
  for (const id of schedulerIds) startScheduler(id);
  const workers = new Map<string, Spawned>();
  const startWorker = async (id: string, threads: number, env: NodeJS.ProcessEnv = {}) => {
    const w = spawnRingpool(['worker', '--redis', options.redisUrl, ...common, '--worker-id', id, '--threads', String(threads), '--port', '0'], env);
    workers.set(id, w);
    return w;
  };
  for (const w of options.workers) await startWorker(w.id, w.threads, w.env);
  const api = spawnRingpool(['api', '--redis', options.redisUrl, ...common, '--port', '0']);
  const [, url] = await api.waitFor(/running at (http:\S+)/, 180_000);
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
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const status = async (id: string): Promise<SchedulerStatus | undefined> => {
    try {
      // A stopped (SIGSTOP) process never answers; a loaded one may take a while, and a probe that
      // gives up too soon reads as "no leader" again and again.
      const res = await fetch(`http://127.0.0.1:${ports.get(id)}/status`, { signal: AbortSignal.timeout(3_000) });
      return res.ok ? ((await res.json()) as SchedulerStatus) : undefined;
    } catch {
      return undefined;
    }
  };
  const cluster: ProcessCluster = {
    prefix,
    url: url as string,
    redis,
    schedulerIds,
    schedulers,
    workers,
    api,
    startWorker,
    startScheduler,
    schedulerUrl: (id) => `http://127.0.0.1:${ports.get(id)}`,
    status,
    async waitForLeader({ among = schedulerIds, aboveTerm = 0, timeoutMs = 60_000 } = {}) {
      return await waitFor(`a leader above term ${aboveTerm}`, async () => {
        const all = await Promise.all(among.map(status));
        return all.find((s) => s !== undefined && s.role === 'leader' && s.term > aboveTerm);
      }, timeoutMs);
    },
    isolate(id, cut) {
      for (const [link, proxy] of proxies) if (link.startsWith(`${id}>`) || link.endsWith(`>${id}`)) proxy.blocked = cut;
    },
    call,
    waitFor,
    async waitForJobEnd(id, timeoutMs = 120_000) {
      return await waitFor(`job ${id} to end`, async () => {
        const j = await call(`/v1/jobs/${id}`);
        return ['completed', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
      }, timeoutMs);
    },
    async stop() {
      const all = [api, ...schedulers.values(), ...workers.values()];
      for (const p of all) {
        if (p.child.signalCode === 'SIGSTOP') p.child.kill('SIGCONT');
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      }
      const timer = setTimeout(() => all.forEach((p) => p.child.kill('SIGKILL')), 10_000);
      await Promise.all(all.map((p) => p.exited));
      clearTimeout(timer);
      await Promise.all([...proxies.values()].map((p) => p.close()));
      redis.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await waitFor('every worker to register', async () => {
    const view = await call('/v1/cluster');
    return view.workers.filter((w: { state: string }) => w.state === 'alive').length === options.workers.length;
  });
  await cluster.waitForLeader();
  return cluster;
}

// Starts, stops and probes redis-server processes on this host: the local cluster of `ringpool start` and `cluster up`, and the tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RingpoolError } from '../errors.js';

export interface LocalRedisOptions {
  /** Directory for the AOF and the log. */
  readonly dir: string;
  /** @default a free port */
  readonly port?: number;
  /** Replicate from this master (`host:port`). */
  readonly replicaOf?: { host: string; port: number };
  /** Append-only file on (durable across a restart of the process). @default false */
  readonly appendOnly?: boolean;
  /** `min-replicas-to-write` on a master: refuse writes with fewer replicas connected. @default 0 */
  readonly minReplicasToWrite?: number;
  /** `min-replicas-max-lag` in seconds. @default 10 */
  readonly minReplicasMaxLag?: number;
  /** @default 'redis-server' */
  readonly binary?: string;
}

export interface LocalRedis {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const INSTALL_HINT =
  'redis-server was not found on PATH. Install Redis 7+: `apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), or pass --redis URL to use a running server.';

/** Throws CONFIG with an install hint when `redis-server` cannot be run. */
export function assertRedisServerAvailable(binary = 'redis-server'): string {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) throw new RingpoolError('CONFIG', INSTALL_HINT);
  return probe.stdout.trim();
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startLocalRedis(options: LocalRedisOptions): Promise<LocalRedis> {
  const binary = options.binary ?? 'redis-server';
  assertRedisServerAvailable(binary);
  mkdirSync(options.dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', options.dir,
    '--logfile', join(options.dir, `redis-${port}.log`),
    '--save', '',
    '--appendonly', options.appendOnly ? 'yes' : 'no',
    '--appendfilename', `appendonly-${port}.aof`,
    '--appenddirname', `aof-${port}`,
    '--protected-mode', 'no',
    // A replica's first sync starts at once: Redis 7 syncs diskless by default and waits 5 s
    // for more replicas to join the same transfer, which held every local start for 5 s.
    '--repl-diskless-sync-delay', '0',
  ];
  if (options.replicaOf) args.push('--replicaof', options.replicaOf.host, String(options.replicaOf.port));
  if (options.minReplicasToWrite) {
    args.push('--min-replicas-to-write', String(options.minReplicasToWrite));
    args.push('--min-replicas-max-lag', String(options.minReplicasMaxLag ?? 10));
  }
  return await spawnRedisProcess(binary, args, port);
}

/** Starts redis-server (or a sentinel) with `args`, resolves once it answers PING on `port`. */
async function spawnRedisProcess(binary: string, args: readonly string[], port: number): Promise<LocalRedis> {
  const child = spawn(binary, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  await waitForPing(url, child, 10_000);
  return {
    port,
    url,
    pid: child.pid ?? -1,
    process: child,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new RingpoolError('CONFIG', `redis-server exited with code ${child.exitCode} before it was ready (${url})`);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    if (Date.now() > deadline) throw new RingpoolError('CONFIG', `redis-server on ${url} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves when the replica at `replicaUrl` reports its link to the master up. */
export async function waitForReplicaLink(replicaUrl: string, timeoutMs = 10_000): Promise<void> {
  const client = new Redis(replicaUrl, { maxRetriesPerRequest: 1 });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await client.info('replication');
      if (/master_link_status:up/.test(info)) return;
      if (Date.now() > deadline) throw new RingpoolError('CONFIG', `replica ${replicaUrl} did not link to its master within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    client.disconnect();
  }
}

export interface LocalSentinelOptions {
  /** Directory for the sentinel's config file (Sentinel rewrites it) and its log. */
  readonly dir: string;
  /** @default a free port */
  readonly port?: number;
  /** The name the master is monitored under (`--sentinel-name`). */
  readonly masterName: string;
  readonly master: { host: string; port: number };
  /** Sentinels that must agree the master is down before a failover. */
  readonly quorum: number;
  /** A master silent this long is subjectively down, ms. @default 1000 */
  readonly downAfterMs?: number;
  /** @default 5000 */
  readonly failoverTimeoutMs?: number;
  /** Run as `<binary> <conf> --sentinel` (redis-server is Sentinel with that flag). @default 'redis-server' */
  readonly binary?: string;
}

/** Starts one Redis Sentinel monitoring `master`; resolves once it answers PING. */
export async function startLocalSentinel(options: LocalSentinelOptions): Promise<LocalRedis> {
  const binary = options.binary ?? 'redis-server';
  assertRedisServerAvailable(binary);
  mkdirSync(options.dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const name = options.masterName;
  const conf = join(options.dir, `sentinel-${port}.conf`);
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode no',
      `dir ${options.dir}`,
      `logfile ${join(options.dir, `sentinel-${port}.log`)}`,
      `sentinel monitor ${name} ${options.master.host} ${options.master.port} ${options.quorum}`,
      `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5000}`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n'),
  );
  return await spawnRedisProcess(binary, [conf, '--sentinel'], port);
}

/** Runs `fn` on a one-off connection to 127.0.0.1:`port`; undefined when that Redis does not answer. */
export async function probeRedis<T>(port: number, fn: (c: Redis) => Promise<T>, connectTimeoutMs = 1000): Promise<T | undefined> {
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: connectTimeoutMs });
  c.on('error', () => {});
  try {
    await c.connect();
    return await fn(c);
  } catch {
    return undefined;
  } finally {
    c.disconnect();
  }
}

/** True once the master at 127.0.0.1:`masterPort` has `count` replicas online; undefined before (or when it does not answer). */
export async function redisReplicasOnline(masterPort: number, count: number): Promise<true | undefined> {
  const info = await probeRedis(masterPort, (c) => c.info('replication'));
  return info !== undefined && [...info.matchAll(/^slave\d+:.*state=online/gm)].length >= count ? true : undefined;
}

/** The port of the master that the sentinel at 127.0.0.1:`port` names for `name`; undefined when it names none or does not answer. */
export async function sentinelMaster(port: number, name: string): Promise<number | undefined> {
  return await probeRedis(port, async (c) => {
    const reply = (await c.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
    return reply === null ? undefined : Number(reply[1]);
  });
}

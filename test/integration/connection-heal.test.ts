// Redis connections that cannot stay dead: the failover race that ends an ioredis connection for good, and a socket that stops answering.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openRedis } from '../../src/node/redis-connections.js';
import { SupervisedRedis } from '../../src/node/supervised-redis.js';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.js';
import { startRedisTopology } from '../helpers/redis-topology.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/poll.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PING answered within `ms`: 'PONG', the error's message, or 'no answer'. */
async function pingWithin(redis: Redis, ms: number): Promise<string> {
  return Promise.race([redis.ping().catch((err: Error) => err.message), sleep(ms).then(() => 'no answer')]);
}

/** Every status a connection goes through, in order. */
function statusLog(redis: Redis): string[] {
  const seen: string[] = [];
  for (const event of ['connecting', 'ready', 'close', 'reconnecting', 'end']) redis.on(event, () => seen.push(event));
  return seen;
}

describe('a failover announced while a connection is reconnecting', () => {
  const closers: Array<() => unknown> = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('ends a plain ioredis Sentinel connection for good; ringpool\'s connections come back by themselves', async () => {
    const topology = await startRedisTopology({ replicas: 1, sentinels: 3 });
    closers.push(() => topology.stop());
    // The clients reach the sentinels through proxies that can hold back their answers: a lookup
    // that takes its time (a slow or distant sentinel) while the failover is announced.
    const proxies: TcpProxy[] = [];
    for (const s of topology.sentinels) proxies.push(await startTcpProxy({ host: '127.0.0.1', port: Number(s.split(':')[1]) }));
    closers.push(() => proxies.forEach((p) => p.close()));
    const sentinels = proxies.map((p) => ({ host: '127.0.0.1', port: p.port }));
    // ioredis's own connector, configured as openRedis configures it.
    const options: RedisOptions = {
      sentinels,
      name: topology.masterName,
      failoverDetector: true,
      sentinelCommandTimeout: 1000,
      enableReadyCheck: true,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
      sentinelRetryStrategy: (attempt: number) => Math.min(100 * attempt, 2000),
    };
    const plain = new Redis(options);
    const revived = new SupervisedRedis('revived', undefined, options); // supervised, ioredis's connector
    const ours = openRedis({ sentinels, name: topology.masterName }, 'durable', 'ours'); // supervised, healing connector
    const clients = [plain, revived, ours];
    for (const c of clients) {
      c.on('error', () => {});
      closers.push(() => c.disconnect());
    }
    const seen = clients.map(statusLog);
    for (const c of clients) expect(await c.ping()).toBe('PONG');
    // Each client's failover detector subscribes to +switch-master on every sentinel (3 × 3 connections).
    await until('the failover detectors to subscribe', 10_000, () => proxies.reduce((n, p) => n + p.open, 0) >= 9);

    for (const p of proxies) p.hold();
    const old = await topology.master();
    await topology.kill(old.port);
    await until('every client to be reconnecting', 10_000, () => seen.every((s) => s.includes('connecting')));
    const promoted = await topology.waitForFailover(old.port, 30_000);
    await sleep(1500); // the announcement reaches the detectors; a lookup under way times out
    for (const p of proxies) p.release();

    // ioredis's Sentinel connector: disconnected by the old detector mid-lookup, status `end`, for good.
    await until('the plain connection to end', 10_000, () => plain.status === 'end');
    await sleep(3000);
    expect(plain.status).toBe('end');
    expect(await pingWithin(plain, 1000)).toBe('Connection is closed.');

    // The same `end`, supervised: connected again.
    await until('the revived connection to answer', 20_000, async () => (await pingWithin(revived, 1000)) === 'PONG');
    expect(seen[1]).toContain('end');
    // The healing connector retires the old detector as it starts a lookup: it never ends.
    await until('ringpool\'s connection to answer', 20_000, async () => (await pingWithin(ours, 1000)) === 'PONG');
    expect(seen[2]).not.toContain('end');
    for (const c of [revived, ours]) expect(((await c.role()) as unknown[])[0]).toBe('master');
    expect(promoted.port).not.toBe(old.port);
  }, 90_000);
});

describe('a connection whose peer stops answering without closing it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringpool-frozen-'));
  let redis: LocalRedis | undefined;
  let proxy: TcpProxy | undefined;
  const clients: Redis[] = [];
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    proxy?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is replaced once a PING goes unanswered; a plain one waits for ever', async () => {
    redis = await startLocalRedis({ dir });
    proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.port });
    const url = `redis://127.0.0.1:${proxy.port}`;
    const plain = new Redis(url, { maxRetriesPerRequest: null });
    const ours = openRedis({ url }, 'durable', 'frozen', { probeMs: 100, probeTimeoutMs: 500 });
    clients.push(plain, ours);
    expect([await plain.ping(), await ours.ping()]).toEqual(['PONG', 'PONG']);
    expect(ours.health().healthy).toBe(true);

    proxy.freeze(); // the sockets stay open; nothing passes either way
    const pending = ours.set('after-freeze', '1');
    // Polled often: the replacement through the proxy is quick, and the unhealthy spell short.
    await until('the supervised connection to report itself unhealthy', 10_000, () => !ours.health().healthy, 5);
    // Replaced by a new connection (the proxy serves new ones): the command sent meanwhile goes through.
    expect(await Promise.race([pending, sleep(15_000).then(() => 'no answer')])).toBe('OK');
    await until('the supervised connection to be healthy again', 10_000, () => ours.health().healthy);
    expect(await pingWithin(plain, 3000)).toBe('no answer');
  }, 60_000);
});

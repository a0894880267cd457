// Readiness probes of the processes `up` starts and the supervisor watches: Redis replication, Sentinel, HTTP.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { probeRedis } from '../../store/local-redis.js';

export function logTail(path: string, lines = 15): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return text === '' ? `; its log ${path} is empty` : `; the end of ${path}:\n${text}`;
  } catch {
    return '';
  }
}

function withRedis<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T | undefined> {
  return probeRedis(port, fn, 1000);
}

export async function redisReplicasOnline(masterPort: number, count: number): Promise<true | undefined> {
  const info = await withRedis(masterPort, (c) => c.info('replication'));
  return info !== undefined && [...info.matchAll(/^slave\d+:.*state=online/gm)].length >= count ? true : undefined;
}

export async function sentinelMaster(port: number, name: string): Promise<number | undefined> {
  return await withRedis(port, async (c) => {
    const reply = (await c.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
    return reply === null ? undefined : Number(reply[1]);
  });
}

export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

export async function getJson(url: string, token?: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000), headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return await res.json();
}

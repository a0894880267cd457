// Readiness probes of the processes `up` starts: HTTP answers, and the tail of a log to show when one is not ready (the Redis probes are in src/store/local-redis.ts).
import { readFileSync } from 'node:fs';

export function logTail(path: string, lines = 15): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return text === '' ? `; its log ${path} is empty` : `; the end of ${path}:\n${text}`;
  } catch {
    return '';
  }
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

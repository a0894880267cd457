// Readiness probes of the processes `up` starts: HTTP answers, the API's cluster view, and the tail of a log to show when one is not ready (the Redis probes are in src/store/local-redis.ts).
import { readFileSync } from 'node:fs';
import { createClient, type ClusterView } from '../../client/index.js';

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

/** `GET /v1/cluster` of the API at `apiUrl`, through the client: one try, answered within 2 s. */
export async function clusterView(apiUrl: string, token?: string): Promise<ClusterView> {
  return await createClient({ url: apiUrl, token: token || undefined, timeoutMs: 2000, retry: false }).cluster();
}

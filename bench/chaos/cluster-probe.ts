// What the chaos harness asks of a running cluster: which pid a process has now, who leads, which Redis is master, is everyone ready.
import { readFileSync, readdirSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { ClusterManifest, ClusterProcess } from '../../src/cli/cluster.js';
import { probeRedis } from '../../src/store/local-redis.js';

const PROBE_TIMEOUT_MS = 1_000;

/** The command line of `pid` (NULs as spaces); undefined when gone or a zombie. */
function commandLineOf(pid: number): string | undefined {
  try {
    if (/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return undefined;
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * The pid now running `proc`: the manifest's if it still runs that command, else whichever process
 * matches the manifest's `match` (a supervisor may have restarted it without the harness knowing
 * how it records the new pid). Undefined when none runs.
 */
export function currentPid(proc: ClusterProcess): number | undefined {
  const match = new RegExp(proc.match);
  const fromManifest = commandLineOf(proc.pid);
  if (fromManifest !== undefined && match.test(fromManifest)) return proc.pid;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const cmdline = commandLineOf(pid);
    if (cmdline !== undefined && match.test(cmdline)) return pid;
  }
  return undefined;
}

/** The process state letter from /proc (R, S, T for stopped, …); undefined when gone. */
export function processState(pid: number): string | undefined {
  try {
    return /\)\s+(\S)\s/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A Redis command against a local port that gives up after a second (a stopped server accepts but never answers). */
export function askRedis<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T | undefined> {
  return withTimeout(probeRedis(port, fn, PROBE_TIMEOUT_MS), PROBE_TIMEOUT_MS + 200);
}

export async function httpStatus(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

export async function httpJson<T>(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

/** The scheduler that calls itself leader in the highest term, from each scheduler's own `/status`. */
export async function findLeader(manifest: ClusterManifest): Promise<{ id: string; term: number } | undefined> {
  const schedulers = manifest.processes.filter((p) => p.role === 'scheduler');
  const statuses = await Promise.all(schedulers.map((s) => httpJson<{ id: string; role: string; term: number }>(`${s.url}/status`)));
  const leaders = statuses.filter((s): s is { id: string; role: string; term: number } => s?.role === 'leader').sort((a, b) => b.term - a.term);
  return leaders[0] === undefined ? undefined : { id: leaders[0].id, term: leaders[0].term };
}

/** The master's port as the sentinels name it (the first that answers); undefined when none does. */
export async function sentinelMasterPort(manifest: ClusterManifest): Promise<number | undefined> {
  for (const s of manifest.processes.filter((p) => p.role === 'sentinel')) {
    const port = await askRedis(s.port, async (c) => {
      const reply = (await c.call('SENTINEL', 'get-master-addr-by-name', manifest.sentinelName)) as [string, string] | null;
      return reply === null ? undefined : Number(reply[1]);
    });
    if (port !== undefined) return port;
  }
  return undefined;
}

export interface Readiness {
  readonly ready: boolean;
  /** The ids of the processes not ready, and `leader` when no scheduler leads. */
  readonly notReady: readonly string[];
}

/**
 * Every process ready: ringpool processes answer `/readyz` 200, Redis nodes and sentinels answer
 * PING, the supervisor runs, and the API's cluster view names a leader. `extra` are more ringpool processes (by URL).
 */
export async function readiness(manifest: ClusterManifest, extra: ReadonlyArray<{ id: string; url: string }> = []): Promise<Readiness> {
  const probes = [
    ...manifest.processes.map(async (p) => {
      // The supervisor of `cluster up` serves nothing: it is ready when it runs.
      if (p.role === 'supervisor') return currentPid(p) === undefined ? p.id : undefined;
      if (p.role === 'redis-master' || p.role === 'redis-replica' || p.role === 'sentinel') {
        return (await askRedis(p.port, (c) => c.ping())) === 'PONG' ? undefined : p.id;
      }
      return (await httpStatus(`${p.url}/readyz`)) === 200 ? undefined : p.id;
    }),
    ...extra.map(async (p) => ((await httpStatus(`${p.url}/readyz`)) === 200 ? undefined : p.id)),
    // The view is what the schedulers published to Redis (it may name a dead leader for a moment):
    // a scheduler must also call itself leader.
    (async () => {
      const [view, leader] = await Promise.all([httpJson<{ leaderId: string | null }>(`${manifest.apiUrl}/v1/cluster`), findLeader(manifest)]);
      return view?.leaderId && leader !== undefined ? undefined : 'leader';
    })(),
  ];
  const notReady = (await Promise.all(probes)).filter((id): id is string => id !== undefined);
  return { ready: notReady.length === 0, notReady };
}

// The plan of a cluster: who runs on which port, and the addresses the processes are given of each other.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { RingpoolError } from '../../errors.js';
import { freePort } from '../../store/local-redis.js';
import type { ClusterRole } from './manifest.js';

export const HOST = '127.0.0.1';

export interface Planned {
  readonly role: ClusterRole;
  readonly id: string;
  readonly port: number;
}

async function isPortFree(port: number): Promise<boolean> {
  return await new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, HOST, () => server.close(() => done(true)));
  });
}

/** api, s1-s3, redis-1 (master), redis-2/3, sentinel-1..3, w1..wN: consecutive from `basePort`, or free ports. */
async function planPorts(workers: number, basePort: number): Promise<Planned[]> {
  const layout: Array<Omit<Planned, 'port'>> = [
    { role: 'api', id: 'api' },
    ...[1, 2, 3].map((i) => ({ role: 'scheduler' as const, id: `s${i}` })),
    { role: 'redis-master', id: 'redis-1' },
    { role: 'redis-replica', id: 'redis-2' },
    { role: 'redis-replica', id: 'redis-3' },
    ...[1, 2, 3].map((i) => ({ role: 'sentinel' as const, id: `sentinel-${i}` })),
    ...Array.from({ length: workers }, (_, i) => ({ role: 'worker' as const, id: `w${i + 1}` })),
  ];
  if (basePort === 0) {
    const taken = new Set<number>();
    const plan: Planned[] = [];
    for (const p of layout) {
      let port = await freePort();
      while (taken.has(port)) port = await freePort();
      taken.add(port);
      plan.push({ ...p, port });
    }
    return plan;
  }
  if (basePort + layout.length - 1 > 65_535) throw new RingpoolError('CONFIG', `--base-port ${basePort} leaves no room for ${layout.length} ports; use at most ${65_536 - layout.length}`);
  const plan = layout.map((p, i) => ({ ...p, port: basePort + i }));
  const busy = (await Promise.all(plan.map(async (p) => ((await isPortFree(p.port)) ? undefined : p)))).filter((p) => p !== undefined);
  if (busy.length > 0) {
    throw new RingpoolError(
      'CONFIG',
      `port${busy.length > 1 ? 's' : ''} ${busy.map((p) => `${p.port} (${p.id})`).join(', ')} ${busy.length > 1 ? 'are' : 'is'} in use on ${HOST}; ` +
        `choose another --base-port (this layout needs ${basePort}-${basePort + layout.length - 1}) or --base-port 0 for free ports`,
    );
  }
  return plan;
}

export interface ClusterPlan {
  readonly processes: readonly Planned[];
  readonly master: Planned;
  /** `id=URL` of each scheduler, as `--peers` takes them. */
  readonly peers: readonly string[];
  /** `host:port` of each sentinel, as `--sentinels` takes them. */
  readonly sentinels: readonly string[];
  readonly apiUrl: string;
}

/** The ports of every process, checked against the Raft data an earlier `up` left in `dir`. */
export async function planCluster(dir: string, workers: number, basePort: number): Promise<ClusterPlan> {
  const plan = await planPorts(workers, basePort);
  const portOf = (id: string) => (plan.find((p) => p.id === id) as Planned).port;
  const peers = plan.filter((p) => p.role === 'scheduler').map((p) => `${p.id}=http://${HOST}:${p.port}`);
  const sentinels = plan.filter((p) => p.role === 'sentinel').map((p) => `${HOST}:${p.port}`);
  const apiUrl = `http://${HOST}:${portOf('api')}`;
  checkRaftLayout(dir, peers);
  return { processes: plan, master: plan.find((p) => p.role === 'redis-master') as Planned, peers, sentinels, apiUrl };
}

/** The planned processes of one role, in the plan's order. */
export function planned(plan: ClusterPlan, role: ClusterRole): Planned[] {
  return plan.processes.filter((p) => p.role === role);
}

/**
 * The Raft write-ahead files keep the members' addresses: schedulers restarted on other ports would
 * keep calling the old ones. Refuse that, and say how to start afresh.
 */
function checkRaftLayout(dir: string, peers: readonly string[]): void {
  const path = join(dir, 'data', 'raft-peers.json');
  if (existsSync(path) && existsSync(join(dir, 'data', 'raft'))) {
    const before = JSON.parse(readFileSync(path, 'utf8')) as string[];
    if (before.join(',') !== peers.join(',')) {
      throw new RingpoolError(
        'CONFIG',
        `${dir} holds the Raft data of schedulers at ${before.join(',')}, not ${peers.join(',')}: ` +
          `start with the same --base-port, or run \`ringpool cluster down --purge --dir ${dir}\` to start afresh`,
      );
    }
  }
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(peers)}\n`);
}

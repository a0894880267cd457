// Builds `GET /v1/cluster` from what this process can see: registrations, queues, Redis INFO, Raft status.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ClusterView, RedisNodeView, SchedulerView, WorkerView } from '../api/cluster-view.js';
import type { Metrics } from '../observability/metrics.js';
import { Placement } from '../scheduler/placement.js';
import type { JobStore } from '../store/job-store.js';
import type { Keys } from '../store/keys.js';
import type { WorkerRegistration } from '../worker/worker-node.js';

export interface ClusterViewSource {
  readonly store: JobStore;
  /** Raft status of the schedulers. @default what they publish to Redis (see publishSchedulerStatus) */
  readonly schedulers?: () => Promise<SchedulerSummary>;
  readonly leaseMs: number;
  /** The outcome of the last WAIT of any part of this process (a worker's too). @default the store's own */
  readonly lastWriteAcked?: () => boolean | null;
  readonly metrics?: Metrics;
}

export function createClusterView(source: ClusterViewSource): { view: () => Promise<ClusterView>; refreshMetrics: () => Promise<void>; close: () => Promise<void> } {
  const { store } = source;
  const placement = new Placement();
  const queues = new Map<string, Queue>();
  let lastSample: { at: number; count: number } | undefined;
  let tasksPerSec = 0;

  const queue = (node: string) => {
    let q = queues.get(node);
    if (q === undefined) queues.set(node, (q = new Queue(store.keys.nodeQueue(node), { connection: store.redis, prefix: store.keys.prefix })));
    return q;
  };

  async function workers(now: number): Promise<WorkerView[]> {
    const all = Object.values(await store.redis.hgetall(store.keys.workers)).map((r) => JSON.parse(r) as WorkerRegistration);
    const counts = await Promise.all(all.map((w) => queue(w.id).getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
    return all
      .map((w, i) => {
        const c = counts[i] ?? {};
        const leaseAgeMs = Math.max(0, now - w.heartbeatAt);
        const state: WorkerView['state'] = leaseAgeMs > source.leaseMs ? 'dead' : w.draining ? 'draining' : 'alive';
        return {
          id: w.id,
          threads: w.threads,
          busy: w.busy,
          queueDepth: Object.values(c).reduce((a, b) => a + b, 0),
          leaseAgeMs,
          state,
          host: w.host,
          pid: w.pid,
        };
      })
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /**
   * The master and its replicas as the master itself reports them (INFO replication). The
   * master's address is the peer of the connection actually in use: through Sentinel the
   * client options name no host, and after a failover the promoted replica is the master.
   */
  async function redisTopology(): Promise<ClusterView['redis']> {
    const redis = store.redis;
    const info = await redis.info('replication');
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    const role = field('role') ?? 'unknown';
    const connected = peerAddress(redis);
    const common = { minReplicas: store.minReplicas, lastWriteAcked: source.lastWriteAcked?.() ?? store.lastWriteAcked };
    if (role === 'slave') {
      // Reached a replica (a demoted master not yet left, or a plain replica URL): report what it knows.
      const offset = Number(field('slave_repl_offset') ?? 0);
      return {
        master: { address: `${field('master_host') ?? '?'}:${field('master_port') ?? '?'}`, offset: 0, state: `link ${field('master_link_status') ?? 'unknown'}` },
        replicas: [{ address: connected, offset, state: 'replica (connected here)' }],
        ...common,
      };
    }
    const masterOffset = Number(field('master_repl_offset') ?? 0);
    const replicas: RedisNodeView[] = [];
    for (const m of info.matchAll(/^slave\d+:(.*)$/gm)) {
      const kv = Object.fromEntries((m[1] as string).split(',').map((p) => p.split('=') as [string, string]));
      // `offset` is what the replica has acknowledged (REPLCONF ACK, about every second or on WAIT).
      const offset = Number(kv.offset ?? 0);
      replicas.push({ address: `${kv.ip}:${kv.port}`, offset, lagBytes: Math.max(0, masterOffset - offset), state: `${kv.state ?? 'unknown'}, lag ${kv.lag ?? '?'}s` });
    }
    return { master: { address: connected, offset: masterOffset, state: role }, replicas, ...common };
  }

  async function view(): Promise<ClusterView> {
    const now = Date.now();
    const [ws, redis, raft, count] = await Promise.all([
      workers(now),
      redisTopology(),
      source.schedulers?.() ?? schedulerViews(store.redis, store.keys),
      store.redis.get(store.keys.resultsStored).then(Number),
    ]);
    const evacuations = ((await store.evacuations()) as ClusterView['evacuations']).slice(0, 20);
    if (lastSample !== undefined && now - lastSample.at >= 500) {
      tasksPerSec = Math.max(0, ((count - lastSample.count) * 1000) / (now - lastSample.at));
      lastSample = { at: now, count };
    } else if (lastSample === undefined) lastSample = { at: now, count };
    // The ring the leader places by (committed through Raft); before any leader, the live workers.
    const members = raft.members ?? ws.filter((w) => w.state === 'alive').map((w) => ({ id: w.id, weight: w.threads }));
    const ring = placement.ringFor(members);
    const shares = ring.shares().map(({ id, share }) => ({ id, share }));
    return { leaderId: raft.leaderId, term: raft.term, schedulers: raft.schedulers, workers: ws, ring: { version: ring.version, shares }, redis, tasksPerSec, evacuations };
  }

  async function refreshMetrics(): Promise<void> {
    const m = source.metrics;
    if (m === undefined) return;
    const v = await view();
    for (const w of v.workers) m.queueDepth.set({ node: w.id }, w.queueDepth);
    for (const r of v.redis.replicas) m.replicaLagBytes.set({ replica: r.address }, r.lagBytes ?? 0);
  }

  return {
    view,
    refreshMetrics,
    close: async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

/** host:port of the node a connection is talking to now, else what its options name. */
function peerAddress(redis: JobStore['redis']): string {
  const stream = redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  if (stream?.remoteAddress !== undefined && stream.remotePort !== undefined) return `${stream.remoteAddress}:${stream.remotePort}`;
  const { sentinels, name, host, port } = redis.options;
  if (sentinels !== undefined && sentinels !== null && sentinels.length > 0) return `(not connected; sentinel master "${name ?? '?'}")`;
  return `${host ?? '127.0.0.1'}:${port ?? 6379}`;
}

/** The schedulers' statuses as they published them; stale ones (no update for 5 s) show as unknown. */
export async function schedulerViews(redis: Redis, keys: Keys): Promise<SchedulerSummary> {
  const now = Date.now();
  const all = Object.values(await redis.hgetall(keys.schedulers)).map(
    (raw) => JSON.parse(raw) as SchedulerView & { at: number; leaderId: string; members?: Array<{ id: string; weight: number }> },
  );
  const fresh = all.map((s) => (now - s.at > 5000 ? { ...s, role: 'unknown' as const } : s));
  const schedulers = fresh
    .map(({ id, role, term, commitIndex, url, at }) => ({ id, role, term, commitIndex, url, lastContactMs: now - at }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const leader = fresh.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term)[0];
  // A leader whose own report is late (its Redis connection was away) is still named by the
  // followers that hear from it: the view names a leader whenever one exists and anyone can say so.
  const heard = fresh.filter((s) => s.role !== 'unknown' && s.leaderId).sort((a, b) => b.term - a.term)[0];
  return {
    leaderId: leader?.id ?? (heard?.leaderId || null),
    term: Math.max(0, ...schedulers.map((s) => s.term)),
    schedulers,
    ...(leader?.members === undefined ? {} : { members: leader.members }),
  };
}

/** The schedulers as the cluster view shows them, and the ring membership their leader committed. */
export interface SchedulerSummary {
  readonly leaderId: string | null;
  readonly term: number;
  readonly schedulers: SchedulerView[];
  readonly members?: ReadonlyArray<{ readonly id: string; readonly weight: number }>;
}

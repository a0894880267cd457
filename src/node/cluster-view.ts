// Builds `GET /v1/cluster` from what this process can see: registrations, queues, Redis INFO, Raft status.
import type { Queue } from 'bullmq';
import type { ClusterView, SchedulerView, WorkerView } from '../api/cluster-view.js';
import type { Metrics } from '../observability/metrics.js';
import type { BacklogReport } from '../scheduler/backlog.js';
import { Placement } from '../scheduler/placement.js';
import type { JobStore } from '../store/job-store.js';
import type { SchedulerStatuses } from '../store/scheduler-statuses.js';
import { verifyRegistration } from '../transport/registration-signature.js';
import type { WorkerRegistration } from '../worker/worker-node.js';

export interface ClusterViewSource {
  readonly store: JobStore;
  /** Raft status of the schedulers. @default what they publish to Redis (see publishSchedulerStatus) */
  readonly schedulers?: () => Promise<SchedulerSummary>;
  readonly leaseMs: number;
  /** The outcome of the last WAIT of any part of this process (a worker's too). @default the store's own */
  readonly lastWriteAcked?: () => boolean | null;
  readonly metrics?: Metrics;
  /** The cluster secret, if set: a registration it does not sign is never drawn in the ring (verifyRegistration). */
  readonly clusterSecret?: string;
}

export function createClusterView(source: ClusterViewSource): { view: () => Promise<ClusterView>; refreshMetrics: () => Promise<void>; noCapacity: () => Promise<boolean>; close: () => Promise<void> } {
  const { store } = source;
  const placement = new Placement();
  const queues = new Map<string, Queue>();
  let lastSample: { at: number; count: number } | undefined;
  let tasksPerSec = 0;

  const queue = (node: string) => {
    let q = queues.get(node);
    if (q === undefined) queues.set(node, (q = store.workers.queue(node)));
    return q;
  };

  /** Every registered node as the view lists it, and the ids of those the cluster secret signs (all, without one): the ring before any leader. */
  async function workers(now: number): Promise<{ views: WorkerView[]; signed: ReadonlySet<string> }> {
    const raw = await store.workers.registrations();
    const all = raw.map((r) => JSON.parse(r) as WorkerRegistration);
    const signed = new Set(raw.flatMap((r) => verifyRegistration<WorkerRegistration>(r, source.clusterSecret, now)?.id ?? []));
    const counts = await Promise.all(all.map((w) => queue(w.id).getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
    const views = all
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
    return { views, signed };
  }

  /** The master and its replicas as the master reports them, and how this process's writes were acknowledged. */
  async function redisTopology(): Promise<ClusterView['redis']> {
    const replication = await store.replication();
    return { ...replication, minReplicas: store.minReplicas, lastWriteAcked: source.lastWriteAcked?.() ?? store.lastWriteAcked };
  }

  async function view(): Promise<ClusterView> {
    const now = Date.now();
    const [{ views: ws, signed }, redis, raft, count] = await Promise.all([
      workers(now),
      redisTopology(),
      source.schedulers?.() ?? schedulerViews(store.schedulerStatuses),
      store.results.storedTotal(),
    ]);
    const evacuations = ((await store.workers.evacuations()) as ClusterView['evacuations']).slice(0, 20);
    if (lastSample !== undefined && now - lastSample.at >= 500) {
      tasksPerSec = Math.max(0, ((count - lastSample.count) * 1000) / (now - lastSample.at));
      lastSample = { at: now, count };
    } else if (lastSample === undefined) lastSample = { at: now, count };
    // The ring the leader places by (committed through Raft); before any leader, the live workers the leader would admit.
    const members = raft.members ?? ws.filter((w) => w.state === 'alive' && signed.has(w.id)).map((w) => ({ id: w.id, weight: w.threads }));
    const ring = placement.ringFor(members);
    const shares = ring.shares().map(({ id, share }) => ({ id, share }));
    const autoscale = autoscaleView(raft.backlog, ws);
    return { leaderId: raft.leaderId, term: raft.term, schedulers: raft.schedulers, workers: ws, ring: { version: ring.version, shares }, redis, tasksPerSec, evacuations, autoscale };
  }

  async function refreshMetrics(): Promise<void> {
    const m = source.metrics;
    if (m === undefined) return;
    const v = await view();
    for (const w of v.workers) m.queueDepth.set({ node: w.id }, w.queueDepth);
    for (const r of v.redis.replicas) m.replicaLagBytes.set({ replica: r.address }, r.lagBytes ?? 0);
    if (v.autoscale !== null) {
      m.desiredWorkerNodes.set(v.autoscale.desired);
      m.backlogTasks.set(v.autoscale.backlogTasks);
      m.busyThreads.set(v.autoscale.busyThreads);
      m.queuedTasks.reset();
      for (const [node, tasks] of Object.entries(v.autoscale.queuedTasks)) m.queuedTasks.set({ node }, tasks);
    }
  }

  /** No registration is alive (lease not lapsed, not draining): work waits for capacity. One read of the registrations. */
  async function noCapacity(): Promise<boolean> {
    const now = Date.now();
    const all = (await store.workers.registrations()).map((r) => JSON.parse(r) as WorkerRegistration);
    return !all.some((w) => now - w.heartbeatAt <= source.leaseMs && !w.draining);
  }

  return {
    view,
    refreshMetrics,
    noCapacity,
    close: async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

/** The schedulers' statuses as they published them; stale ones (no update for 5 s) show as unknown. */
export async function schedulerViews(statuses: SchedulerStatuses): Promise<SchedulerSummary> {
  const now = Date.now();
  const all = (await statuses.all()) as Array<SchedulerView & { at: number; leaderId: string; members?: Array<{ id: string; weight: number }>; backlog?: BacklogReport }>;
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
    ...(leader?.backlog === undefined ? {} : { backlog: leader.backlog }),
  };
}

/** The leader's backlog signal as /v1/cluster shows it (null while no leader publishes one); `current` counts the alive workers. */
function autoscaleView(backlog: BacklogReport | undefined, workers: readonly WorkerView[]): ClusterView['autoscale'] {
  if (backlog === undefined || Date.now() - backlog.at > 5000) return null;
  const { desired, reason, backlogTasks, backlogWorkMs, unplacedTasks, queuedTasks, busyThreads, taskMicros, targetDrainMs, at } = backlog;
  return { current: workers.filter((w) => w.state === 'alive').length, desired, reason, backlogTasks, backlogWorkMs, unplacedTasks, queuedTasks, busyThreads, taskMicros, targetDrainMs, sampledAt: at };
}

/** The schedulers as the cluster view shows them, and the ring membership their leader committed. */
export interface SchedulerSummary {
  readonly leaderId: string | null;
  readonly term: number;
  readonly schedulers: SchedulerView[];
  readonly members?: ReadonlyArray<{ readonly id: string; readonly weight: number }>;
  /** The leader's backlog signal (docs/operations.md "Autoscaling"). */
  readonly backlog?: BacklogReport;
}

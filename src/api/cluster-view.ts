// The shape of `GET /v1/cluster`: what the dashboard and `ringpool cluster` show.
import type { RedisNodeView } from '../store/replication.js';

export interface SchedulerView {
  readonly id: string;
  readonly role: 'leader' | 'follower' | 'candidate' | 'pre-candidate' | 'unknown';
  readonly term: number;
  readonly commitIndex: number;
  /** Since the leader last heard from it (leader's view), ms; null when unknown. */
  readonly lastContactMs: number | null;
  readonly url: string | null;
}

export interface WorkerView {
  readonly id: string;
  readonly threads: number;
  readonly busy: number;
  /** Queue entries waiting or active on the node's queue. */
  readonly queueDepth: number;
  readonly leaseAgeMs: number;
  readonly state: 'alive' | 'draining' | 'dead';
  readonly host: string;
  readonly pid: number;
}

/** A Redis master or replica as the master reports it. */
export type { RedisNodeView };

export interface ClusterView {
  readonly leaderId: string | null;
  readonly term: number;
  readonly schedulers: readonly SchedulerView[];
  readonly workers: readonly WorkerView[];
  readonly ring: { readonly version: string; readonly shares: ReadonlyArray<{ readonly id: string; readonly share: number }> };
  readonly redis: {
    readonly master: RedisNodeView | null;
    readonly replicas: readonly RedisNodeView[];
    readonly minReplicas: number;
    /** Whether the last `WAIT` of this process was confirmed by enough replicas (null: none yet). */
    readonly lastWriteAcked: boolean | null;
  };
  /** Tasks completed per second over the last few seconds, cluster-wide. */
  readonly tasksPerSec: number;
  /** The latest worker nodes whose tasks were moved, newest first (the dashboard's timeline). */
  readonly evacuations: ReadonlyArray<{ readonly node: string; readonly movedTasks: number; readonly at: number; readonly lapsed: boolean }>;
  /** Worker nodes alive vs the leader's recommendation, with its reason and figures; null while no leader reports one. */
  readonly autoscale: AutoscaleView | null;
}

/** The backlog signal (docs/operations.md "Autoscaling"): what waits, and how many worker nodes would drain it in time. */
export interface AutoscaleView {
  readonly current: number;
  readonly desired: number;
  readonly reason: 'idle' | 'backlog' | 'running' | 'waiting-for-capacity' | 'at-max' | 'at-min';
  readonly backlogTasks: number;
  readonly backlogWorkMs: number;
  readonly unplacedTasks: number;
  readonly queuedTasks: Readonly<Record<string, number>>;
  readonly busyThreads: number;
  readonly taskMicros: number | null;
  readonly targetDrainMs: number;
  /** When the leader began the sample these figures come from, ms since the epoch (the leader's clock). */
  readonly sampledAt: number;
}

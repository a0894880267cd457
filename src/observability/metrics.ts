// Prometheus metrics (prom-client) of one process: each component records into the one registry it is given.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly tasksCompleted = new Counter({ name: 'ringpool_tasks_completed_total', help: 'Tasks whose result was stored', labelNames: ['job_type'], registers: [this.registry] });
  readonly tasksFailed = new Counter({ name: 'ringpool_tasks_failed_total', help: 'Task attempts that failed, by error code', labelNames: ['job_type', 'code'], registers: [this.registry] });
  readonly duplicateResults = new Counter({ name: 'ringpool_duplicate_results_total', help: 'Results dropped because one was already stored (first write wins)', registers: [this.registry] });
  readonly taskDuration = new Histogram({
    name: 'ringpool_task_batch_duration_seconds',
    help: 'Wall time of one queue entry (a batch of tasks) on the worker node threads that share it',
    labelNames: ['job_type'],
    buckets: [0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({ name: 'ringpool_tasks_in_flight', help: 'Tasks running on this worker node', labelNames: ['node'], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'ringpool_queue_depth', help: 'Queue entries waiting or active per worker node', labelNames: ['node'], registers: [this.registry] });
  readonly handedEntries = new Counter({ name: 'ringpool_handed_entries_total', help: 'Short whole jobs a leader in the same process handed to this worker node instead of queueing them', labelNames: ['node'], registers: [this.registry] });
  readonly staleBatchesRefused = new Counter({ name: 'ringpool_stale_batches_refused_total', help: 'Queue entries a worker refused because a later scheduler term re-placed their tasks (fencing)', registers: [this.registry] });
  readonly cacheHits = new Counter({ name: 'ringpool_node_cache_hits_total', help: 'ctx.cache asks answered with a kept (or concurrently loaded) value, per worker node', labelNames: ['node'], registers: [this.registry] });
  readonly cacheMisses = new Counter({ name: 'ringpool_node_cache_misses_total', help: 'ctx.cache asks that loaded the value (one per key and load), per worker node', labelNames: ['node'], registers: [this.registry] });
  readonly cacheBytes = new Gauge({ name: 'ringpool_node_cache_bytes', help: "Bytes kept in the worker node's cache (--cache-bytes bounds it)", labelNames: ['node'], registers: [this.registry] });
  readonly stolenTasks = new Counter({ name: 'ringpool_tasks_stolen_total', help: 'Tasks moved off a slow or backed-up worker node to one with a free thread (work stealing)', registers: [this.registry] });
  readonly speculatedTasks = new Counter({ name: 'ringpool_tasks_speculated_total', help: 'Backup copies run of a job\'s last tasks (speculative execution)', registers: [this.registry] });
  readonly wastedMs = new Counter({ name: 'ringpool_straggler_wasted_ms_total', help: 'Milliseconds spent on task copies whose result lost to another (first write wins)', registers: [this.registry] });
  readonly movedTasks = new Counter({ name: 'ringpool_tasks_moved_total', help: 'Tasks re-placed off a departed worker node', registers: [this.registry] });
  readonly raftTerm = new Gauge({ name: 'ringpool_raft_term', help: 'Current Raft term of this scheduler', registers: [this.registry] });
  readonly raftIsLeader = new Gauge({ name: 'ringpool_raft_is_leader', help: '1 when this scheduler leads', registers: [this.registry] });
  readonly leaderChanges = new Counter({ name: 'ringpool_raft_leader_changes_total', help: 'Leader changes seen by this scheduler', registers: [this.registry] });
  readonly replicationAcks = new Counter({ name: 'ringpool_replication_acks_total', help: 'WAIT calls by outcome', labelNames: ['outcome'], registers: [this.registry] });
  readonly replicaLagBytes = new Gauge({ name: 'ringpool_replica_lag_bytes', help: 'Replication offset lag of each replica', labelNames: ['replica'], registers: [this.registry] });
  readonly redisRepairs = new Counter({
    name: 'ringpool_redis_connection_repairs_total',
    help: 'Redis connections revived after ioredis gave them up (ended) or replaced after a PING went unanswered',
    labelNames: ['connection', 'cause'],
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({
    name: 'ringpool_webhook_deliveries_total',
    help: 'Webhook attempts by outcome: delivered, retried (failed, tried again later), gave_up (failed past the retry time), refused (SSRF guard)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  // The backlog signal (docs/operations.md "Autoscaling"): set by the API from the leader's report, read by KEDA or an HPA.
  readonly desiredWorkerNodes = new Gauge({ name: 'ringpool_desired_worker_nodes', help: 'Worker nodes that would drain the backlog within --target-drain-ms (the leader\'s recommendation)', registers: [this.registry] });
  readonly backlogTasks = new Gauge({ name: 'ringpool_backlog_tasks', help: 'Tasks not finished: not placed yet plus queued on the worker nodes', registers: [this.registry] });
  readonly queuedTasks = new Gauge({ name: 'ringpool_queued_tasks', help: 'Tasks queued (waiting or running) on each worker node', labelNames: ['node'], registers: [this.registry] });
  readonly busyThreads = new Gauge({ name: 'ringpool_busy_threads', help: 'Worker threads running a task, cluster-wide', registers: [this.registry] });
  readonly autoscaleDecisions = new Counter({ name: 'ringpool_autoscale_decisions_total', help: 'Worker nodes started (up) or drained (down) by the local autoscaler, by reason', labelNames: ['direction', 'reason'], registers: [this.registry] });
  readonly httpRequests = new Counter({ name: 'ringpool_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // The event-loop lag probe samples every second, not prom-client's 10 ms: each sample wakes the
    // event loop, and every wake-up costs CPU (100 a second cost ~1 % of a core on the 2-core bench
    // machine; an idle node's budget is 0.5 %, docs/performance.md "Round two"). Each sample still
    // records how late it ran; a scheduler's /status keeps a finer probe (node/node.ts).
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'ringpool_process_', eventLoopMonitoringPrecision: 1000 });
  }
}

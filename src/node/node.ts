// Composition root: wires the parts one process runs (api, scheduler, worker) and shuts them down in order.
import { TenantPolicies } from '../config/tenants.js';
import { blobRuntime } from '../blobs/runtime.js';
import { startBlobSweep, SWEEP_EVERY_MS } from '../blobs/sweep.js';
import { startLeaderSweep } from '../scheduler/leader-sweep.js';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { readinessBody, type Readiness } from '../api/readiness.js';
import type { Config } from '../config/config.js';
import { benchSlowdown, jobDirs } from '../config/config.js';
import { workerRange } from '../autoscale/worker-range.js';
import { RingpoolError } from '../errors.js';
import { Metrics } from '../observability/metrics.js';
import { startTracing } from '../observability/tracing.js';
import { typeScriptRequire } from '../registry/import-module.js';
import { loadJobRegistry } from '../registry/job-registry.js';
import { LiveRegistry } from '../registry/live-registry.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { JobStore, type JobStoreOptions } from '../store/job-store.js';
import { createKeys, type Keys } from '../store/keys.js';
import { LocalEnds } from '../store/local-ends.js';
import { LocalProgress } from '../store/local-progress.js';
import { LocalHandoff } from '../transport/local-handoff.js';
import { LocalCreations } from '../store/local-creations.js';
import { SchedulerStatuses } from '../store/scheduler-statuses.js';
import { WorkerStore } from '../store/worker-store.js';
import type { WorkerNode } from '../worker/worker-node.js';
import type { Consensus } from './consensus.js';
import { openRedis, redisTarget, replicaTarget, type ConnectionUse, type RedisTarget } from './redis-connections.js';
import { ConnectionSet, type SupervisedRedis, type SupervisionOptions } from './supervised-redis.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';
import { sweepModuleFolder } from '../registry/deployed-modules.js';

export interface Roles {
  readonly api: boolean;
  readonly scheduler: boolean;
  readonly worker: boolean;
}

export interface RunningNode {
  /** This process's HTTP base URL: the API, or the health, metrics and Raft routes. */
  readonly url: string;
  readonly registry: LiveRegistry;
  readonly store: JobStore;
  /** The store the worker role writes its task results with (its own connection beside a scheduler); `store` otherwise, and without a worker role. */
  readonly workerStore: JobStore;
  readonly metrics: Metrics;
  /** The scheduler and its Raft node, when this process runs one. */
  readonly scheduler: Scheduler | undefined;
  readonly consensus: Consensus | undefined;
  /** Every Redis connection this process holds, supervised: its readiness is theirs. */
  readonly connections: ConnectionSet;
  close(): Promise<void>;
}

export interface NodeHooks {
  /**
   * Called once when the connections have stayed unhealthy for `config.stuckAfterMs`: the process
   * cannot do its work and should exit non-zero so that its supervisor restarts it (the CLI does).
   */
  readonly onStuck?: (reason: string) => void;
}

type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

/** Starts the roles `roles` names in this process: the HTTP server, the worker, the scheduler, then the API or the health routes. */
export async function startNode(config: Config, roles: Roles, logger: Logger, hooks: NodeHooks = {}): Promise<RunningNode> {
  // Traces (off unless --otlp-endpoint): started first, sent last, after every part has stopped.
  const tracing = config.otlpEndpoint === undefined ? undefined : await startTracing({ endpoint: config.otlpEndpoint, roles: roleNames(roles) });
  try {
    const node = await startRoles(config, roles, logger, hooks);
    return { ...node, close: () => node.close().finally(() => tracing?.stop()) };
  } catch (err) {
    await tracing?.stop();
    throw err;
  }
}

function roleNames(roles: Roles): string {
  return (Object.keys(roles) as Array<keyof Roles>).filter((role) => roles[role]).join(',');
}

async function startRoles(config: Config, roles: Roles, logger: Logger, hooks: NodeHooks): Promise<RunningNode> {
  const parts = await openParts(config, roles, logger);
  const { registry, store, metrics, connections } = parts;
  const shutdown = new Shutdown(connections, logger, startWatchdog(config.stuckAfterMs, connections, logger, hooks.onStuck));
  try {
    // The server starts first: a scheduler's own URL (its Raft address) needs the bound port.
    const server = new NodeServer();
    const url = await server.listen(config.host, config.port);
    shutdown.add(() => server.close());
    await registry.start();
    shutdown.add(async () => registry.stop());
    // What no process of this host has used for a week (docs/operations.md, "Disk").
    const swept = sweepModuleFolder();
    if (swept > 0) logger.info({ swept }, 'removed job modules and thread bundles no process used for a week');
    // Each role's modules load only in a process that runs it: a worker-only process stays small.
    const workerStore = roles.worker ? await startWorkerRole(parts, shutdown) : store;
    const scheduling = roles.scheduler ? await startSchedulerRole(parts, url, server, shutdown) : undefined;
    if (roles.api) server.serveApp(await startApiRole(parts, shutdown));
    else server.serveApp(healthApp(parts.readiness, metrics, scheduling?.consensus, scheduling?.scheduler, scheduling?.extras ?? (() => ({}))).fetch);
    return { url, registry, store, workerStore, metrics, scheduler: scheduling?.scheduler, consensus: scheduling?.consensus, connections, close: () => shutdown.run() };
  } catch (err) {
    // A role that failed to start takes down what had started: the process can exit with the error.
    await shutdown.run();
    throw err;
  }
}

/** What every role of the process shares: the job registry, the metrics, the supervised Redis connections and the store. */
interface NodeParts {
  readonly config: Config;
  readonly roles: Roles;
  readonly logger: Logger;
  readonly target: RedisTarget;
  readonly registry: LiveRegistry;
  readonly keys: Keys;
  readonly metrics: Metrics;
  readonly connections: ConnectionSet;
  readonly supervision: SupervisionOptions;
  readonly storeOptions: JobStoreOptions;
  readonly store: JobStore;
  /** A supervised connection to the master, configured for `use`, reported under `name`. */
  readonly open: (use: ConnectionUse, name: string) => SupervisedRedis;
  /** Ready when every connection is healthy. */
  readonly readiness: () => Readiness;
  /** Whether the last write that waited for replicas got them (null: none yet). */
  readonly lastWriteAcked: () => boolean | null;
  /** The ends the worker's writes make, for the API's waiters in this process (local-ends.ts). */
  readonly localEnds: LocalEnds;
  /** The results the worker here stores, for the scheduler here (local-progress.ts); undefined unless the node has both roles. */
  readonly localProgress: LocalProgress | undefined;
  /** Short whole jobs the scheduler here hands the worker here instead of queueing them (local-handoff.ts); undefined unless the node has both roles. */
  readonly localHandoff: LocalHandoff | undefined;
  /** The records of the jobs the API here is creating, for the scheduler here (local-creations.ts); undefined unless the node has both roles. */
  readonly localCreations: LocalCreations | undefined;
}

async function openParts(config: Config, roles: Roles, logger: Logger): Promise<NodeParts> {
  const target = redisTarget(config);
  if (target === undefined) throw new RingpoolError('CONFIG', 'give --redis URL or --sentinels host:port,… (or RINGPOOL_REDIS_URL / RINGPOOL_SENTINELS)');
  const folders = await loadJobRegistry(jobDirs(config));
  const keys = createKeys(config.prefix);
  const metrics = new Metrics();
  const connections = new ConnectionSet();
  const supervision: SupervisionOptions = {
    onRepair: ({ connection, cause, delayMs }) => {
      logger.warn({ connection, cause, delayMs }, cause === 'ended' ? 'a Redis connection ended; connecting it again' : 'a Redis connection stopped answering; replacing it');
      metrics.redisRepairs.inc({ connection, cause });
    },
  };
  const open = (use: Parameters<typeof openRedis>[1], name: string) => connections.add(openRedis(target, use, name, supervision));
  const readiness = (): Readiness => {
    const report = connections.report();
    return { ready: report.every((c) => c.healthy), connections: report };
  };
  let lastWriteAcked: boolean | null = null;
  const storeOptions = {
    minReplicas: config.minReplicas ?? 0,
    onAcknowledge: (acked: boolean) => {
      lastWriteAcked = acked;
      metrics.replicationAcks.inc({ outcome: acked ? 'acked' : 'short' });
    },
  };
  const store = new JobStore(open('durable', 'store'), keys, storeOptions);
  // Deployed job types: their active versions followed, any version a job runs loaded on demand.
  const registry = new LiveRegistry(folders, store.jobTypes, { logger });
  return { config, roles, logger, target, registry, keys, metrics, connections, supervision, storeOptions, store, open, readiness, lastWriteAcked: () => lastWriteAcked, localEnds: new LocalEnds(), localProgress: roles.worker && roles.scheduler ? new LocalProgress(config.workerId) : undefined, localHandoff: roles.worker && roles.scheduler ? new LocalHandoff() : undefined, localCreations: roles.api && roles.scheduler ? new LocalCreations() : undefined };
}

/**
 * Shutdown runs the parts' closers in order: stop serving, hand over leadership, stop scheduling,
 * the API's parts; then the worker drains, and the connections close.
 */
class Shutdown {
  readonly #closers: Array<() => Promise<void>> = [];
  readonly #connections: ConnectionSet;
  readonly #logger: Logger;
  readonly #watchdog: (() => void) | undefined;
  #worker: WorkerNode | undefined;

  constructor(connections: ConnectionSet, logger: Logger, watchdog: (() => void) | undefined) {
    this.#connections = connections;
    this.#logger = logger;
    this.#watchdog = watchdog;
  }

  add(close: () => Promise<void>): void {
    this.#closers.push(close);
  }

  /** The worker drains after every other part has stopped. */
  drainLast(worker: WorkerNode): void {
    this.#worker = worker;
  }

  async run(): Promise<void> {
    this.#watchdog?.();
    for (const close of this.#closers) await this.#stopPart(close);
    const drained = this.#worker;
    if (drained !== undefined) await this.#stopPart(() => drained.close());
    this.#connections.disconnectAll();
  }

  /** Stops one part, given up on after 20 s: no part may hold the process up for ever (Redis gone, a peer gone). */
  async #stopPart(close: () => Promise<void>): Promise<void> {
    try {
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref());
      if ((await Promise.race([close(), timer])) === 'timeout') this.#logger.warn('a part did not stop within 20 s; going on');
    } catch (err) {
      this.#logger.warn({ err }, 'error while shutting down');
    }
  }
}

/** The process's one HTTP server: Raft messages go to the scheduler's routes, the rest to the API or the health routes. */
class NodeServer {
  #app: Fetch = () => new Response('starting', { status: 503 });
  #raft: Fetch | undefined;
  #server: ServerType | undefined;

  /** Resolves with the server's base URL. */
  async listen(hostname: string, port: number): Promise<string> {
    this.#server = await listen(
      // Raft traffic carries its own HMAC and never passes the API's bearer-token middleware.
      (request, env) => (this.#raft !== undefined && new URL(request.url).pathname.startsWith('/raft/') ? this.#raft(request, env) : this.#app(request, env)),
      hostname,
      port,
    );
    return `http://${hostname}:${(this.#server.address() as { port: number }).port}`;
  }

  serveApp(fetch: Fetch): void {
    this.#app = fetch;
  }

  serveRaft(fetch: Fetch): void {
    this.#raft = fetch;
  }

  close(): Promise<void> {
    return new Promise<void>((r) => {
      if (this.#server === undefined) return r();
      this.#server.close(() => r());
      // SSE streams keep connections open: end them so shutdown does not wait for clients.
      (this.#server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }
}

/** The worker role: takes its node queue's tasks into a pool of `config.threads` threads. */
/** Starts the worker role; returns the store it writes results with. */
async function startWorkerRole(parts: NodeParts, shutdown: Shutdown): Promise<JobStore> {
  const { config, roles, logger, registry, keys, metrics, connections, open } = parts;
  const { WorkerNode } = await roleModule<typeof import('../worker/worker-node.js')>('../worker/worker-node.js');
  // Beside a scheduler, the worker writes its results on a connection of its own: a WAIT holds its
  // connection until the replicas answer, and the scheduler's (a split's checkpoint, ~0.5-2 ms)
  // would hold a result write sent meanwhile behind it (docs/performance.md, `latency`).
  const store = roles.scheduler ? new JobStore(open('durable', 'worker-store'), keys, parts.storeOptions) : parts.store;
  const subscriber = open('blocking', 'worker-events');
  // The events channel also tells of deployed job types: the registry reads them when told.
  registry.follow(subscriber, keys.events);
  const worker = new WorkerNode(
    {
      store,
      registry,
      // The worker node closes it itself, once BullMQ has let go of it (closing it again is harmless).
      bullConnection: open('blocking', 'worker-bullmq'),
      subscriber,
      heartbeat: new WorkerStore(open('durable', 'worker-heartbeat'), keys),
      logger: logger.child({ role: 'worker' }),
      metrics,
      canWork: () => connections.healthy(WORKER_CONNECTIONS),
      // Beside an API, which answers a waiter from the worker's acknowledged end (local-ends.ts).
      ...(roles.api ? { localEnds: parts.localEnds } : {}),
      ...(parts.localProgress === undefined ? {} : { localProgress: parts.localProgress }),
      ...(parts.localHandoff === undefined ? {} : { localHandoff: parts.localHandoff }),
    },
    {
      id: config.workerId,
      threads: config.threads,
      heartbeatMs: config.heartbeatMs,
      maxTaskResultBytes: config.maxTaskResultBytes,
      cacheBytes: config.cacheBytes,
      benchSlowdown: benchSlowdown(),
      ...(config.clusterSecret ? { clusterSecret: config.clusterSecret } : {}),
      ...(config.blobStore === undefined ? {} : { blobs: blobRuntime(config) }),
      // A process that is only a worker leaves entirely when drained, as on SIGTERM.
      ...(roles.api || roles.scheduler ? {} : { onDrainRequested: () => process.kill(process.pid, 'SIGTERM') }),
    },
  );
  shutdown.drainLast(worker);
  await worker.start();
  logger.info({ id: worker.id, threads: worker.threads }, 'worker node started');
  return store;
}

interface Scheduling {
  readonly scheduler: Scheduler;
  readonly consensus: Consensus;
  /** What a scheduler adds to its /status: refused registrations and Raft messages. */
  readonly extras: () => object;
}

/** The scheduler role: a Raft member (its messages served at `url`) that, while it leads, splits jobs and places tasks. */
async function startSchedulerRole(parts: NodeParts, url: string, server: NodeServer, shutdown: Shutdown): Promise<Scheduling> {
  const { config, logger, store, registry, metrics, connections, keys, open } = parts;
  const [{ Scheduler }, { RaftLeadership }, { RaftMembership }, { RegistryMembership }, { publishSchedulerStatus, startConsensus }, { WebhookDeliveries }, { BacklogSignal }] = await Promise.all([
    roleModule<typeof import('../scheduler/scheduler.js')>('../scheduler/scheduler.js'),
    roleModule<typeof import('../scheduler/raft-leadership.js')>('../scheduler/raft-leadership.js'),
    roleModule<typeof import('../scheduler/raft-membership.js')>('../scheduler/raft-membership.js'),
    roleModule<typeof import('../scheduler/membership.js')>('../scheduler/membership.js'),
    roleModule<typeof import('./consensus.js')>('./consensus.js'),
    roleModule<typeof import('../scheduler/webhook-delivery.js')>('../scheduler/webhook-delivery.js'),
    roleModule<typeof import('../scheduler/backlog.js')>('../scheduler/backlog.js'),
  ]);
  const log = logger.child({ role: 'scheduler', id: config.schedulerId });
  const consensus = await startConsensus({ config, selfUrl: url, logger: log, metrics });
  server.serveRaft(consensus.routes.fetch);
  const leadership = new RaftLeadership(consensus.node, log);
  const registryMembership = new RegistryMembership(new WorkerStore(open('durable', 'scheduler-membership'), keys), {
    leaseMs: config.leaseMs,
    ...(config.clusterSecret ? { clusterSecret: config.clusterSecret } : {}),
  });
  const membership = new RaftMembership({ registry: registryMembership, control: consensus.control, node: consensus.node, leadership, logger: log });
  await membership.start();
  const stopGuard = guardLeadership(consensus, connections, log);
  const backlog = new BacklogSignal({ store, membership, leadership, logger: log }, { ...workerRange(config), targetDrainMs: config.targetDrainMs, defaultThreadsPerNode: config.threads });
  backlog.start();
  registryMembership.onChange(() => backlog.poke());
  const status = publishSchedulerStatus(new SchedulerStatuses(open('durable', 'scheduler-status'), keys), consensus.node, url, consensus.control, undefined, () => {
    const latest = backlog.latest;
    return latest === undefined ? {} : { backlog: latest };
  });
  backlog.onSample(() => status.poke());
  const tenants = new TenantPolicies(config.tenants);
  const running = new Scheduler(
    {
      store,
      registry,
      leadership,
      membership,
      connection: open('blocking', 'scheduler-bullmq'),
      blocking: open('blocking', 'scheduler-wake'),
      logger: log,
      metrics,
      ...(config.blobStore === undefined ? {} : { blobs: blobRuntime(config) }),
      tenantWeight: (tenant) => tenants.tenantPolicy(tenant).weight,
      tenantMaxThreads: (tenant) => tenants.tenantPolicy(tenant).maxThreadsInUse,
      onWake: () => backlog.poke(),
      schedulerId: config.schedulerId,
      ...(parts.localProgress === undefined ? {} : { localProgress: parts.localProgress }),
      ...(parts.localHandoff === undefined ? {} : { localHandoff: parts.localHandoff }),
      ...(parts.localCreations === undefined ? {} : { localCreations: parts.localCreations }),
    },
    { maxTasksPerJob: config.maxTasksPerJob, maxJobResultBytes: config.maxJobResultBytes, loadBound: config.loadBound, stealAfterMs: config.stealAfterMs },
  );
  running.start();
  const webhooks = new WebhookDeliveries(
    { store: store.webhooks, leadership, logger: log, metrics },
    { retryForMs: config.webhookRetryForMs, secret: config.webhookSecret, allow: config.webhookAllow },
  );
  webhooks.start();
  const blobs = blobRuntime(config);
  const isLeader = () => leadership.term !== undefined;
  const stopSweep = blobs === undefined ? () => {} : startBlobSweep({ runtime: blobs, isLeader, jobExists: async (id) => (await store.getJob(id)) !== undefined, logger: log });
  const stopIndexSweep = startLeaderSweep({ what: 'the listings of expired jobs', everyMs: SWEEP_EVERY_MS, isLeader, sweep: async () => (await store.sweepIndexes()).removed, logger: log });
  shutdown.add(async () => {
    stopSweep();
    stopIndexSweep();
    stopGuard();
    await consensus.handOver();
    await webhooks.close();
    await running.close();
    membership.stop();
    status.stop();
    await backlog.stop();
    leadership.close();
    await consensus.close();
  });
  const routes = consensus.routes;
  return { scheduler: running, consensus, extras: () => ({ rejectedRegistrations: registryMembership.rejectedRegistrations, raftMessages: routes.stats }) };
}

/** The API role: the HTTP API and the dashboard, reading through their own connections (and a replica's, if configured). */
async function startApiRole(parts: NodeParts, shutdown: Shutdown): Promise<Fetch> {
  const { config, logger, target, registry, metrics, connections, keys, supervision, storeOptions, open, readiness, lastWriteAcked } = parts;
  const [{ createApi }, { createNodeQueues, mountDashboard }, { JobEvents }, { createClusterView }] = await Promise.all([
    roleModule<typeof import('../api/app.js')>('../api/app.js'),
    roleModule<typeof import('../ui/routes.js')>('../ui/routes.js'),
    roleModule<typeof import('../store/job-events.js')>('../store/job-events.js'),
    roleModule<typeof import('./cluster-view.js')>('./cluster-view.js'),
  ]);
  const apiStore = new JobStore(open('api', 'api'), keys, storeOptions);
  const replica = replicaTarget(config, target);
  const listStore = replica === undefined ? undefined : new JobStore(connections.add(openRedis(replica, 'api', 'api-lists', supervision)), keys, storeOptions);
  const cluster = createClusterView({ store: apiStore, leaseMs: config.leaseMs, metrics, lastWriteAcked, ...(config.clusterSecret === undefined ? {} : { clusterSecret: config.clusterSecret }) });
  shutdown.add(cluster.close);
  const eventsConnection = open('blocking', 'api-events');
  registry.follow(eventsConnection, keys.events);
  const jobEvents = new JobEvents(eventsConnection, keys, parts.roles.worker ? parts.localEnds : undefined);
  await jobEvents.start();
  shutdown.add(() => jobEvents.close());
  const app = createApi(
    {
      store: apiStore,
      registry,
      logger: logger.child({ role: 'api' }),
      clusterView: cluster.view,
      metrics,
      refreshMetrics: cluster.refreshMetrics,
      noCapacity: cluster.noCapacity,
      jobEvents,
      localCreations: parts.localCreations,
      readiness,
      blobs: blobRuntime(config),
      ...(listStore === undefined ? {} : { listStore }),
    },
    {
      bodyLimitBytes: config.bodyLimitBytes,
      apiTokens: config.apiTokens,
      maxJobsInFlight: config.maxJobsInFlight,
      maxModuleBytes: config.maxModuleBytes,
      webhookUrl: config.webhookUrl,
      webhookAllow: config.webhookAllow,
      tenants: config.tenants,
    },
  );
  const nodeQueues = createNodeQueues(apiStore.workers);
  shutdown.add(() => nodeQueues.close());
  mountDashboard(app, { queues: () => nodeQueues.list() });
  return app.fetch;
}

/** What a scheduler or worker process serves: liveness, readiness (Redis answers) and its metrics. */
function healthApp(readiness: () => Readiness, metrics: Metrics, consensus: Consensus | undefined, scheduler: Scheduler | undefined, extras: () => object): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // A scheduler's own Raft view (role, term, leader, commit index, peers' last contact), its last
  // placement and how late its event loop runs (heartbeats must not starve behind a split or reduce).
  if (consensus !== undefined) {
    // Sampled from the first /status on (whoever watches the lag asks for it; an idle node nobody
    // asks does not wake for it), coarse on purpose: each sample wakes the event loop (see
    // observability/metrics.ts); a late sample still records its lag.
    let lag: IntervalHistogram | undefined;
    app.get('/status', (c) => {
      if (lag === undefined) {
        lag = monitorEventLoopDelay({ resolution: 200 });
        lag.enable();
      }
      return c.json({
        ...consensus.node.status(),
        lastPlacement: scheduler?.lastPlacement ?? null,
        eventLoopLagP99Ms: Number((lag.percentile(99) / 1e6).toFixed(2)),
        eventLoopLagMaxMs: Number((lag.max / 1e6).toFixed(2)),
        ...extras(),
      });
    });
  }
  app.get('/readyz', (c) => {
    const r = readiness();
    return c.json(readinessBody(r), r.ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path} on this node; the API is served by \`ringpool api\`` } }, 404));
  return app;
}

/** The connections a worker node needs to take and finish work (see WorkerNodeDeps.canWork). */
const WORKER_CONNECTIONS = ['store', 'worker-store', 'worker-bullmq', 'worker-heartbeat'];

/** The connections a scheduler needs to do a leader's work: split, place, resume, publish its status. */
const SCHEDULER_CONNECTIONS = ['store', 'scheduler-membership', 'scheduler-status', 'scheduler-bullmq', 'scheduler-wake'];

/** How long a scheduler's connections may be unhealthy before it gives up leading (a failover's blip is shorter). */
const MAY_LEAD_PATIENCE_MS = 2000;

/**
 * A scheduler that cannot reach Redis cannot do a leader's work, yet its Raft heartbeats would keep
 * it leader for ever and its peers from electing one that can: it starts no election while its
 * connections are unhealthy, and a leader hands over to the most up-to-date follower (tried again
 * at each look while it still leads, every 1.25 s). A group of one keeps its leader: there is no other.
 */
function guardLeadership(consensus: Consensus, connections: ConnectionSet, logger: Logger): () => void {
  let mayLead = true;
  let handingOver = false;
  // On the connection probes' timer (every 1.25 s): no timer of its own to wake an idle node.
  return connections.afterProbes(() => {
    const can = connections.unhealthyForMs(SCHEDULER_CONNECTIONS) < MAY_LEAD_PATIENCE_MS;
    if (can !== mayLead) {
      mayLead = can;
      consensus.setMayLead(can);
      if (can) logger.info('Redis answers again: may lead');
      else logger.warn({ connections: connections.report().filter((c) => !c.healthy) }, 'Redis does not answer: not campaigning, and handing leadership over if held');
    }
    if (!can && !handingOver && consensus.isLeader) {
      handingOver = true;
      void consensus.handOver().finally(() => (handingOver = false));
    }
  });
}

/**
 * Exits through `onStuck` (once) when some connection has stayed unhealthy for `stuckAfterMs`:
 * every connection repairs itself, so one that has not by then will not, and a restart is the
 * remaining cure (systemd, Kubernetes or `ringpool cluster up` restarts the process).
 */
function startWatchdog(stuckAfterMs: number, connections: ConnectionSet, logger: Logger, onStuck: ((reason: string) => void) | undefined): (() => void) | undefined {
  if (stuckAfterMs === 0 || onStuck === undefined) return undefined;
  // Looks every tenth of the limit (at most 5 s): the exit comes within 10 % of it, and an idle node wakes rarely for it
  // (on the idle grid, with the process's other idle loops, when the period fits it).
  const everyMs = Math.min(5000, Math.max(100, Math.round(stuckAfterMs / 10)));
  const look = () => {
    if (connections.unhealthyForMs() < stuckAfterMs) return;
    stop();
    const down = connections.report().filter((c) => !c.healthy);
    const reason = `Redis has not answered for ${Math.round(stuckAfterMs / 1000)} s on ${down.map((c) => `${c.name} (${c.status})`).join(', ')}`;
    logger.error({ connections: down }, `stuck: ${reason}`);
    onStuck(reason);
  };
  const stop = everyMs % IDLE_GRID_MS === 0 ? idleGrid.every(everyMs, look, { ref: false }) : clearInterval.bind(null, setInterval(look, everyMs).unref());
  return stop;
}

function listen(fetch: Fetch, hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}

/**
 * A role's module, loaded only in a process that takes the role: required through tsx's CommonJS
 * hook where ringpool's entry loaded this code so (see registry/import-module.ts), imported else.
 */
function roleModule<T>(specifier: string): Promise<T> {
  const require = typeScriptRequire(import.meta.url);
  return require !== undefined ? Promise.resolve(require(specifier) as T) : (import(specifier) as Promise<T>);
}

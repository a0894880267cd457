// Composition root: wires the parts one process runs (api, scheduler, worker) and shuts them down in order.
import { serve, type ServerType } from '@hono/node-server';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createApi } from '../api/app.js';
import type { Config } from '../config/config.js';
import { jobDirs } from '../config/config.js';
import { loadJobRegistry, type JobRegistry } from '../registry/job-registry.js';
import { SoleLeadership } from '../scheduler/leadership.js';
import { RegistryMembership } from '../scheduler/membership.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { JobEvents } from '../store/job-events.js';
import { JobStore } from '../store/job-store.js';
import { createKeys } from '../store/keys.js';
import { WorkerNode } from '../worker/worker-node.js';
import { Metrics } from '../observability/metrics.js';
import { createClusterView } from './cluster-view.js';
import { createNodeQueues, mountDashboard } from '../ui/routes.js';
import { openRedis, redisTarget } from './redis-connections.js';
import { RingpoolError } from '../errors.js';


export interface Roles {
  readonly api: boolean;
  readonly scheduler: boolean;
  readonly worker: boolean;
}

export interface RunningNode {
  /** The API's base URL, when this node serves it. */
  readonly url: string | undefined;
  readonly registry: JobRegistry;
  readonly store: JobStore;
  readonly metrics: Metrics;
  /** The scheduler, when this node runs one (tests read its evacuations). */
  readonly scheduler: Scheduler | undefined;
  close(): Promise<void>;
}

export async function startNode(config: Config, roles: Roles, logger: Logger): Promise<RunningNode> {
  const target = redisTarget(config);
  if (target === undefined) throw new RingpoolError('CONFIG', 'give --redis URL or --sentinels host:port,… (or RINGPOOL_REDIS_URL / RINGPOOL_SENTINELS)');
  const registry = await loadJobRegistry(jobDirs(config));
  const keys = createKeys(config.prefix);
  const connections: Redis[] = [];
  const open = (use: Parameters<typeof openRedis>[1], name: string) => {
    const c = openRedis(target, use, name);
    connections.push(c);
    return c;
  };
  const metrics = new Metrics();
  const storeOptions = {
    minReplicas: config.minReplicas ?? 0,
    onAcknowledge: (acked: boolean) => metrics.replicationAcks.inc({ outcome: acked ? 'acked' : 'short' }),
  };
  const store = new JobStore(open('durable', 'store'), keys, storeOptions);
  const closers: Array<() => Promise<void>> = [];

  if (roles.worker) {
    const worker = new WorkerNode(
      { store, registry, bullConnection: open('blocking', 'worker-bullmq'), subscriber: open('blocking', 'worker-events'), logger: logger.child({ role: 'worker' }), metrics },
      {
        id: config.workerId,
        threads: config.threads,
        heartbeatMs: config.heartbeatMs,
        maxTaskResultBytes: config.maxTaskResultBytes,
        // A process that is only a worker leaves entirely when drained, as on SIGTERM.
        ...(roles.api || roles.scheduler ? {} : { onDrainRequested: () => process.kill(process.pid, 'SIGTERM') }),
      },
    );
    await worker.start();
    closers.push(() => worker.close());
    logger.info({ id: worker.id, threads: worker.threads }, 'worker node started');
  }

  let scheduler: Scheduler | undefined;
  if (roles.scheduler) {
    const membership = new RegistryMembership(store.redis, keys.workers, { leaseMs: config.leaseMs });
    await membership.start();
    scheduler = new Scheduler({
      store,
      registry,
      leadership: new SoleLeadership(),
      membership,
      connection: open('blocking', 'scheduler-bullmq'),
      blocking: open('blocking', 'scheduler-wake'),
      logger: logger.child({ role: 'scheduler' }),
    }, { maxTasksPerJob: config.maxTasksPerJob });
    scheduler.start();
    const started = scheduler;
    closers.unshift(async () => {
      await started.close();
      membership.stop();
    });
  }

  let url: string | undefined;
  if (roles.api) {
    const apiStore = new JobStore(open('api', 'api'), keys, storeOptions);
    const cluster = createClusterView({ store: apiStore, leaseMs: config.leaseMs, metrics });
    closers.push(cluster.close);
    const jobEvents = new JobEvents(open('blocking', 'api-events'), keys);
    await jobEvents.start();
    closers.push(() => jobEvents.close());
    const app = createApi(
      {
        store: apiStore,
        registry,
        logger: logger.child({ role: 'api' }),
        clusterView: cluster.view,
        metrics,
        refreshMetrics: cluster.refreshMetrics,
        jobEvents,
      },
      { bodyLimitBytes: config.bodyLimitBytes, apiTokens: config.apiTokens, maxJobsInFlight: config.maxJobsInFlight },
    );
    const nodeQueues = createNodeQueues(apiStore.redis, keys);
    closers.push(() => nodeQueues.close());
    mountDashboard(app, { queues: () => nodeQueues.list() });
    const server = await listen(app.fetch, config.host, config.port);
    url = `http://${config.host}:${(server.address() as { port: number }).port}`;
    closers.unshift(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          // SSE streams keep connections open: end them so shutdown does not wait for clients.
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
  }

  return {
    url,
    registry,
    store,
    metrics,
    scheduler,
    async close() {
      for (const close of closers) {
        try {
          await close();
        } catch (err) {
          logger.warn({ err }, 'error while shutting down');
        }
      }
      for (const c of connections) c.disconnect();
    },
  };
}

function listen(fetch: Parameters<typeof serve>[0]['fetch'], hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}

// createApi(deps): the HTTP API as a Hono app of route modules; tests call app.request(), only the CLI opens a socket.
import type { BlobRuntime } from '../blobs/blob-store.js';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ErrorHandler, Hono, MiddlewareHandler, NotFoundHandler } from 'hono';
import type { BlankEnv } from 'hono/types';
import type { Logger } from 'pino';
import { TenantPolicies, type TenantsConfig } from '../config/tenants.js';
import { RingpoolError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { JobResolver } from '../registry/live-registry.js';
import type { JobEvents } from '../store/job-events.js';
import type { LocalCreations } from '../store/local-creations.js';
import type { JobStore } from '../store/job-store.js';
import { apiAuth } from './auth.js';
import { toHttpError } from './errors.js';
import { JobQuota, QUOTA_DEFAULTS } from './quota.js';
import type { Readiness } from './readiness.js';
import { failFastWhileRedisDown } from './redis-fail-fast.js';
import { moduleFolder } from '../registry/deployed-modules.js';
import { clusterRoutes } from './routes/cluster.js';
import { deployRoutes } from './routes/deploy.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { jobEventRoutes } from './routes/job-events.js';
import { jobResultRoutes } from './routes/job-result.js';
import { jobTypeRoutes } from './routes/job-types.js';
import { jobRoutes } from './routes/jobs.js';
import { scheduleRoutes } from './routes/schedules.js';
import { submitJobRoutes, webhookPolicy, type WebhookPolicy } from './routes/submit-job.js';
import { workerRoutes } from './routes/workers.js';

export interface ApiOptions {
  /** Largest accepted request body, bytes. @default 1048576 */
  readonly bodyLimitBytes?: number;
  /**
   * Bearer tokens, each `TOKEN` (every scope) or `TOKEN:scope+scope` (submit, read, admin); when any
   * is given every route but /healthz and /readyz requires one (see auth.ts for which scope). @default []
   */
  readonly apiTokens?: readonly string[];
  /** Jobs queued or running per token (or per client address without tokens) before 429. @default 1000 */
  readonly maxJobsInFlight?: number;
  /** Deepest nesting of arrays and objects accepted in a JSON body. @default 64 */
  readonly maxJsonDepth?: number;
  /** How often the SSE stream looks for progress, ms. @default 250 */
  readonly eventsPollMs?: number;
  /** Largest job module accepted by `POST /v1/job-types`, bytes. @default 1048576 */
  readonly maxModuleBytes?: number;
  /** The webhook of jobs submitted without a `callback` option (`--webhook-url`, docs/webhooks.md). */
  readonly webhookUrl?: string | undefined;
  /** Private ranges a callback URL may name (`--webhook-allow`): other private literal addresses are a 400. @default [] */
  readonly webhookAllow?: readonly string[];
  /**
   * Tenants by name (the config file's `tenants`, docs/tenants.md): limits and default webhooks;
   * when any is listed, a token may only name a listed one. @default {}
   */
  readonly tenants?: TenantsConfig;
}

export interface ApiDeps {
  readonly store: JobStore;
  readonly registry: JobResolver;
  readonly logger?: Logger;
  /** What `GET /v1/cluster` shows: schedulers, workers, Redis. */
  readonly clusterView?: () => Promise<unknown>;
  /** This process's metrics, served at `/metrics`; `refreshMetrics` runs before each scrape. */
  readonly metrics?: Metrics;
  readonly refreshMetrics?: () => Promise<void>;
  /** Where job lists and searches are read, when not the master. @default store */
  readonly listStore?: JobStore;
  /** Job-end notifications, for `?wait=MS` on `POST /v1/jobs` and `GET /v1/jobs/:id/result`. */
  readonly jobEvents?: JobEvents;
  /** A leader in the same process, told of each creation's record (local-creations.ts). */
  readonly localCreations?: LocalCreations | undefined;
  /** Whether every Redis connection of the process answers. @default a PING on the store's */
  readonly readiness?: () => Readiness;
  /** The blob store (`--blob-store`): results kept there are streamed from it (docs/blobs.md). */
  readonly blobs?: BlobRuntime | undefined;
  /** Whether no worker node is alive: `GET /v1/jobs/:id` then says `waitingFor: capacity`. @default never */
  readonly noCapacity?: () => Promise<boolean>;
}

export const API_DEFAULTS = Object.freeze({
  bodyLimitBytes: 1_048_576,
  apiTokens: [] as readonly string[],
  eventsPollMs: 250,
  maxJobsInFlight: QUOTA_DEFAULTS.maxJobsInFlight,
  maxJsonDepth: 64,
  maxModuleBytes: 1_048_576,
  webhookAllow: [] as readonly string[],
});

/**
 * The API: options checked, the shared quota built, middleware installed, then each route module
 * mounted at its path; mounting collects each module's route definitions for /v1/openapi.json.
 */
export function createApi(deps: ApiDeps, options: ApiOptions = {}): Hono {
  const opts = { ...API_DEFAULTS, ...options };
  if (!Number.isInteger(opts.bodyLimitBytes) || opts.bodyLimitBytes < 1) throw new RingpoolError('CONFIG', `bodyLimitBytes must be an integer >= 1, got ${opts.bodyLimitBytes}`);
  if (!Number.isInteger(opts.maxModuleBytes) || opts.maxModuleBytes < 1) throw new RingpoolError('CONFIG', `maxModuleBytes must be an integer >= 1, got ${opts.maxModuleBytes}`);
  if (!Number.isInteger(opts.maxJsonDepth) || opts.maxJsonDepth < 1) throw new RingpoolError('CONFIG', `maxJsonDepth must be an integer >= 1, got ${opts.maxJsonDepth}`);
  const { store, registry, jobEvents } = deps;
  const quota = new JobQuota(store.quotas, { maxJobsInFlight: opts.maxJobsInFlight });
  const webhooks = webhookPolicy(opts.webhookAllow, opts.webhookUrl);
  const tenants = tenantPolicies(opts.tenants, webhooks);
  const app = new OpenAPIHono<BlankEnv>();

  app.onError(answerWithError(deps.logger));
  app.notFound(noSuchRoute);
  if (deps.metrics !== undefined) app.use('*', countRequests(deps.metrics.httpRequests));
  app.use('*', apiAuth(opts.apiTokens, tenants));
  // Routes that need Redis answer 503 at once while the connection is down (after auth: a client
  // without a token learns nothing about the backend).
  const redisUp = failFastWhileRedisDown(store);
  for (const path of ['/readyz', '/v1/jobs', '/v1/jobs/*', '/v1/cluster', '/v1/workers/*', '/v1/job-types/*', '/v1/schedules', '/v1/schedules/*']) app.use(path, redisUp);

  // Middleware first: a module's routes are copied into the app when mounted, after it.
  app.route('/', healthRoutes(deps));
  app.route('/v1/job-types', jobTypeRoutes(registry));
  app.route('/v1/job-types', deployRoutes({ store, registry, moduleDir: moduleFolder(), maxModuleBytes: opts.maxModuleBytes, logger: deps.logger }));
  app.route('/v1/jobs', submitJobRoutes({ store, registry, quota, tenants, jobEvents, webhooks, maxJsonDepth: opts.maxJsonDepth, bodyLimitBytes: opts.bodyLimitBytes, localCreations: deps.localCreations }));
  app.route('/v1/jobs', jobRoutes({ store, listStore: deps.listStore ?? store, quota, tenants, noCapacity: deps.noCapacity }));
  app.route('/v1/jobs', jobResultRoutes({ store, jobEvents, blobs: deps.blobs }));
  app.route('/v1/jobs', jobEventRoutes({ store, pollMs: opts.eventsPollMs }));
  app.route('/v1/schedules', scheduleRoutes({ store, registry, tenants, maxJsonDepth: opts.maxJsonDepth, bodyLimitBytes: opts.bodyLimitBytes }));
  app.route('/v1/workers', workerRoutes({ store }));
  app.route('/v1/cluster', clusterRoutes(deps));
  app.route('/', docsRoutes({ definitions: () => app.openAPIRegistry.definitions, registry }));
  return app;
}

/** The tenants of the config; a tenant's default webhook that the guard refuses (a literal private address not allowed) is a CONFIG error. */
function tenantPolicies(config: TenantsConfig | undefined, webhooks: WebhookPolicy): TenantPolicies {
  const tenants = new TenantPolicies(config);
  for (const name of tenants.names) {
    tenants.tenantPolicy(name).webhooks.forEach((w, i) => {
      const why = webhooks.refusal(w.url);
      if (why !== undefined) throw new RingpoolError('CONFIG', `tenants.${name}.webhooks.${i}.url: ${why}`);
    });
  }
  return tenants;
}

/** Anything a route throws, as the JSON error body, status and headers of errors.ts; 5xx are logged. */
function answerWithError(logger: Logger | undefined): ErrorHandler {
  return (err, c) => {
    const { status, body, headers } = toHttpError(err);
    // The path only: a query string may carry ?token=, and tokens are never logged.
    if (status >= 500) logger?.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
    return c.json(body, status as 400, headers);
  };
}

const noSuchRoute: NotFoundHandler = (c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}; the API lives under /v1` } }, 404);

/** Counts each answered request by method, route pattern (not the path: ids would explode the labels) and status. */
function countRequests(counter: Metrics['httpRequests']): MiddlewareHandler {
  return async (c, next) => {
    await next();
    counter.inc({ method: c.req.method, route: c.req.routePath, status: String(c.res.status) });
  };
}

// What supervisors and Prometheus ask: /healthz (the process answers), /readyz (its Redis connections do), /metrics.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import { z } from 'zod';
import { RingpoolError } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';
import type { JobStore } from '../../store/job-store.js';
import { readinessBody, type Readiness } from '../readiness.js';
import { createRoute, errorAnswers, json, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { HealthSchema, ReadySchema } from '../wire.js';

export interface HealthRoutesDeps {
  /** Its connection is pinged for /readyz when no `readiness` is given. */
  readonly store: Pick<JobStore, 'ping'>;
  readonly readiness?: (() => Readiness) | undefined;
  readonly metrics?: Metrics | undefined;
  /** Runs before each scrape of /metrics; its failure does not fail the scrape. */
  readonly refreshMetrics?: (() => Promise<void>) | undefined;
}

const metricsRoute = createRoute({
  operationId: 'getMetrics',
  method: 'get',
  path: '/metrics',
  tags: ['health'],
  summary: "this process's Prometheus metrics",
  responses: {
    200: { description: 'the metrics in the Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
    ...errorAnswers({ 404: 'metrics are not enabled on this node (NOT_FOUND)' }),
  },
});

const healthzRoute = createRoute({
  operationId: 'getHealth',
  method: 'get',
  path: '/healthz',
  tags: ['health'],
  summary: 'liveness: the process answers',
  responses: { 200: json('the process is up', HealthSchema) },
});

const readyzRoute = createRoute({
  operationId: 'getReadiness',
  method: 'get',
  path: '/readyz',
  tags: ['health'],
  summary: 'readiness: every Redis connection of the process answers',
  responses: {
    200: json('ready; the connections and their state', ReadySchema),
    ...errorAnswers({ 503: `not ready: the connections that do not answer are named (REDIS_UNAVAILABLE). ${REDIS_DOWN}` }),
  },
});

/** Mounted at the root. /healthz and /readyz are open even on a server with tokens (auth.ts). */
export function healthRoutes(deps: HealthRoutesDeps): OpenAPIHono<BlankEnv> {
  const { store } = deps;
  const app = routeApp();

  serveRoute(app, metricsRoute, async (c) => {
    if (deps.metrics === undefined) throw new RingpoolError('NOT_FOUND', 'metrics are not enabled on this node');
    await deps.refreshMetrics?.().catch(() => {});
    return c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType });
  });

  serveRoute(app, healthzRoute, (c) => c.json({ status: 'ok' }));
  serveRoute(app, readyzRoute, async (c) => {
    if (deps.readiness === undefined) {
      await store.ping();
      return c.json({ status: 'ready' });
    }
    const r = deps.readiness();
    return c.json(readinessBody(r), r.ready ? 200 : 503);
  });

  return app;
}

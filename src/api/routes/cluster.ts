// GET /v1/cluster: the schedulers, workers and Redis nodes as this process sees them (cluster-view.ts has the shape).
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import { createRoute, errorAnswers, json, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { ClusterViewSchema } from '../wire.js';

export interface ClusterRoutesDeps {
  /** What the route shows; without it, an empty object. */
  readonly clusterView?: (() => Promise<unknown>) | undefined;
}

const clusterView = createRoute({
  operationId: 'getCluster',
  method: 'get',
  path: '/',
  tags: ['cluster'],
  summary: 'the schedulers, workers, ring and Redis nodes as the answering process sees them',
  responses: { 200: json('the cluster', ClusterViewSchema), ...errorAnswers({ 503: REDIS_DOWN }) },
});

/** Mounted at /v1/cluster. */
export function clusterRoutes(deps: ClusterRoutesDeps): OpenAPIHono<BlankEnv> {
  const app = routeApp();
  serveRoute(app, clusterView, async (c) => {
    const view = deps.clusterView ? await deps.clusterView() : {};
    return c.json(view);
  });
  return app;
}

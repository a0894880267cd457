// GET /v1/cluster: the schedulers, workers and Redis nodes as this process sees them (cluster-view.ts has the shape).
import { Hono } from 'hono';

export interface ClusterRoutesDeps {
  /** What the route shows; without it, an empty object. */
  readonly clusterView?: (() => Promise<unknown>) | undefined;
}

/** Mounted at /v1/cluster. */
export function clusterRoutes(deps: ClusterRoutesDeps): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const view = deps.clusterView ? await deps.clusterView() : {};
    return c.json(view);
  });
  return app;
}

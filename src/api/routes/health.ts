// What supervisors and Prometheus ask: /healthz (the process answers), /readyz (its Redis connections do), /metrics.
import { Hono } from 'hono';
import { RingpoolError } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';
import type { JobStore } from '../../store/job-store.js';
import { readinessBody, type Readiness } from '../readiness.js';

export interface HealthRoutesDeps {
  /** Its connection is pinged for /readyz when no `readiness` is given. */
  readonly store: Pick<JobStore, 'ping'>;
  readonly readiness?: (() => Readiness) | undefined;
  readonly metrics?: Metrics | undefined;
  /** Runs before each scrape of /metrics; its failure does not fail the scrape. */
  readonly refreshMetrics?: (() => Promise<void>) | undefined;
}

/** Mounted at the root. /healthz and /readyz are open even on a server with tokens (auth.ts). */
export function healthRoutes(deps: HealthRoutesDeps): Hono {
  const { store } = deps;
  const app = new Hono();

  app.get('/metrics', async (c) => {
    if (deps.metrics === undefined) throw new RingpoolError('NOT_FOUND', 'metrics are not enabled on this node');
    await deps.refreshMetrics?.().catch(() => {});
    return c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType });
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (deps.readiness === undefined) {
      await store.ping();
      return c.json({ status: 'ready' });
    }
    const r = deps.readiness();
    return c.json(readinessBody(r), r.ready ? 200 : 503);
  });

  return app;
}

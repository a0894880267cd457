// Operator routes on worker nodes: POST /v1/workers/:id/drain asks a node to finish its work and take no more.
import { Hono } from 'hono';
import { RingpoolError } from '../../errors.js';
import { isNodeId } from '../../node-id.js';
import type { JobStore } from '../../store/job-store.js';

export interface WorkerRoutesDeps {
  readonly store: Pick<JobStore, 'workers'>;
}

/** Mounted at /v1/workers. Needs the `admin` scope (auth.ts: a non-GET route not listed in SUBMIT_ROUTES). */
export function workerRoutes(deps: WorkerRoutesDeps): Hono {
  const { store } = deps;
  const app = new Hono();
  app.post('/:id/drain', async (c) => {
    const id = c.req.param('id');
    if (!isNodeId(id) || !(await store.workers.isRegistered(id))) {
      throw new RingpoolError('NOT_FOUND', `no worker node ${JSON.stringify(id.slice(0, 80))}; see GET /v1/cluster for the nodes`);
    }
    await store.workers.requestDrain(id);
    return c.json({ id, draining: true }, 202);
  });
  return app;
}

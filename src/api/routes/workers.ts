// Operator routes on worker nodes: POST /v1/workers/:id/drain asks a node to finish its work and take no more.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import { z } from 'zod';
import { RingpoolError } from '../../errors.js';
import { isNodeId } from '../../node-id.js';
import type { JobStore } from '../../store/job-store.js';
import { createRoute, errorAnswers, json, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { DrainAnswerSchema } from '../wire.js';

export interface WorkerRoutesDeps {
  readonly store: Pick<JobStore, 'workers'>;
}

const drainWorker = createRoute({
  operationId: 'drainWorker',
  method: 'post',
  path: '/{id}/drain',
  tags: ['cluster'],
  summary: 'drain a worker node',
  description: 'The node finishes the entries it holds and takes no more; it leaves the ring and its queued entries move to the other nodes.',
  request: { params: z.object({ id: z.string().describe('the worker node id, as GET /v1/cluster lists it') }) },
  responses: {
    202: json('the node was asked to drain', DrainAnswerSchema),
    ...errorAnswers({ 404: 'no registered worker node with that id (NOT_FOUND)', 503: REDIS_DOWN }),
  },
});

/** Mounted at /v1/workers. Needs the `admin` scope (auth.ts: a non-GET route not listed in SUBMIT_ROUTES). */
export function workerRoutes(deps: WorkerRoutesDeps): OpenAPIHono<BlankEnv> {
  const { store } = deps;
  const app = routeApp();
  serveRoute(app, drainWorker, async (c) => {
    const id = c.req.param('id');
    if (!isNodeId(id) || !(await store.workers.isRegistered(id))) {
      throw new RingpoolError('NOT_FOUND', `no worker node ${JSON.stringify(id.slice(0, 80))}; see GET /v1/cluster for the nodes`);
    }
    await store.workers.requestDrain(id);
    return c.json({ id, draining: true }, 202);
  });
  return app;
}

// GET /v1/jobs/:id/events: a job's progress as server-sent events, until it ends or the client goes.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import { streamSSE } from 'hono/streaming';
import { TERMINAL_STATUSES, type JobRecord } from '../../store/job-record.js';
import type { JobStore } from '../../store/job-store.js';
import { toHttpError } from '../errors.js';
import { principalOf } from '../auth.js';
import { createRoute, errorAnswers, JobIdParams, NO_SUCH_JOB, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { findJob } from './job-reads.js';

export interface JobEventsDeps {
  readonly store: Pick<JobStore, 'getJob'>;
  /** How often the stream looks for progress, ms. */
  readonly pollMs: number;
}

const jobEvents = createRoute({
  operationId: 'streamJobEvents',
  method: 'get',
  path: '/{id}/events',
  tags: ['jobs'],
  summary: "a job's progress as server-sent events",
  description:
    'Events: `progress` (data: ProgressEvent) whenever the job changes, `end` (data: EndEvent) once when it has ended, `error` (data: ErrorBody) if Redis is lost mid-stream. ' +
    'EventSource cannot send headers: pass the token as `?token=`.',
  request: { params: JobIdParams },
  responses: {
    200: {
      description: 'the event stream; it closes after the `end` event',
      content: { 'text/event-stream': { schema: { type: 'string', description: 'lines of `event: progress|end|error` and `data: <JSON>`' } } },
    },
    ...errorAnswers({ 404: NO_SUCH_JOB, 503: REDIS_DOWN }),
  },
});

/** Mounted at /v1/jobs. Events: `progress` when the job's state changes, `end` once, `error` if Redis is lost. */
export function jobEventRoutes(deps: JobEventsDeps): OpenAPIHono<BlankEnv> {
  const { store } = deps;
  const app = routeApp();
  serveRoute(app, jobEvents, async (c) => {
    const first = await findJob(store, c.req.param('id'), principalOf(c));
    return streamSSE(
      c,
      async (stream) => {
        let closed = false;
        stream.onAbort(() => {
          closed = true;
        });
        let last = '';
        let job: JobRecord | undefined = first;
        while (!closed && job !== undefined) {
          const data = JSON.stringify({ id: job.id, status: job.status, progress: job.progress, error: job.error });
          if (data !== last) {
            await stream.writeSSE({ event: 'progress', data });
            last = data;
          }
          if (TERMINAL_STATUSES.has(job.status)) break;
          await stream.sleep(deps.pollMs);
          job = await store.getJob(first.id);
        }
        if (!closed) await stream.writeSSE({ event: 'end', data: JSON.stringify({ id: first.id, status: job?.status ?? 'expired' }) });
      },
      // Redis lost mid-stream: tell the client (EventSource reconnects by itself) instead of logging to stdout.
      async (err, stream) => {
        const { body } = toHttpError(err);
        await stream.writeSSE({ event: 'error', data: JSON.stringify(body) }).catch(() => {});
      },
    );
  });
  return app;
}

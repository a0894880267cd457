// GET /v1/jobs/:id/events: a job's progress as server-sent events, until it ends or the client goes.
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { TERMINAL_STATUSES, type JobRecord } from '../../store/job-record.js';
import type { JobStore } from '../../store/job-store.js';
import { toHttpError } from '../errors.js';
import { findJob } from './job-reads.js';

export interface JobEventsDeps {
  readonly store: Pick<JobStore, 'getJob'>;
  /** How often the stream looks for progress, ms. */
  readonly pollMs: number;
}

/** Mounted at /v1/jobs. Events: `progress` when the job's state changes, `end` once, `error` if Redis is lost. */
export function jobEventRoutes(deps: JobEventsDeps): Hono {
  const { store } = deps;
  const app = new Hono();
  app.get('/:id/events', async (c) => {
    const first = await findJob(store, c.req.param('id'));
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

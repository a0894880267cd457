// GET /v1/jobs/:id/result: a completed job's result (JSON, or the image itself), with an optional long poll (`?wait=MS`).
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import { z } from 'zod';
import type { BlobRuntime } from '../../blobs/blob-store.js';
import { asResultRef } from '../../blobs/result-refs.js';
import { streamResult } from '../../blobs/result-stream.js';
import { RingpoolError } from '../../errors.js';
import type { JobEvents } from '../../store/job-events.js';
import { TERMINAL_STATUSES, type JobRecord } from '../../store/job-record.js';
import { isJobId } from '../../store/job-store.js';
import type { JobResultBody } from '../../store/result-store.js';
import { principalOf } from '../auth.js';
import { createRoute, errorAnswers, JobIdParams, NO_SUCH_JOB, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { JobResultSchema } from '../wire.js';
import { findJob, noSuchJob, readEnded, WaitQuery, waitQuery, type EndedJobReader } from './job-reads.js';

export interface JobResultDeps {
  readonly store: EndedJobReader;
  /** Job-end notifications, for `?wait=MS`; without them the answer is always at once. */
  readonly jobEvents?: Pick<JobEvents, 'waitForEnd'> | undefined;
  /** The blob store, where results over its threshold are kept (docs/blobs.md): such a result is streamed from it. */
  readonly blobs?: BlobRuntime | undefined;
}

const getResult = createRoute({
  operationId: 'getJobResult',
  method: 'get',
  path: '/{id}/result',
  tags: ['jobs'],
  summary: "a completed job's result",
  description:
    'JSON for most job types; the image itself for a type whose result type is image/png. With `?wait=MS`, a long poll: the answer comes as soon as the job ends. ' +
    'A result kept in the blob store (docs/blobs.md) is streamed with Content-Length and honours one `Range: bytes=a-b` (206, or 416 past its end).',
  request: { params: JobIdParams, query: z.object({ wait: WaitQuery }) },
  responses: {
    200: {
      description: 'the result',
      content: {
        'application/json': { schema: JobResultSchema },
        'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
      },
    },
    206: { description: 'the bytes a `Range` header asked for, of a result kept in the blob store', content: { 'application/json': { schema: { type: 'string' } } } },

    ...errorAnswers({
      400: '?wait is not valid (BAD_INPUT)',
      404: `${NO_SUCH_JOB}; or its result has expired`,
      409: 'the job is not completed (NOT_FINISHED): it failed (details.error says why) or is still queued or running',
      416: 'the `Range` asked for starts past the end of a result kept in the blob store (BAD_INPUT; Content-Range says its size)',
      503: `${REDIS_DOWN}; or the job ended on the master but the replicas have not confirmed it yet (NOT_REPLICATED)`,
    }),
  },
});

/** Mounted at /v1/jobs. */
export function jobResultRoutes(deps: JobResultDeps): OpenAPIHono<BlankEnv> {
  const { store } = deps;
  const app = routeApp();
  serveRoute(app, getResult, async (c) => {
    const id = c.req.param('id');
    const wait = waitQuery(c.req.query('wait'));
    // Long poll: register before the first read, so an end published in between is not missed.
    const waiter = wait > 0 && isJobId(id) ? deps.jobEvents?.waitForEnd(id, wait) : undefined;
    let job: JobRecord;
    let result: JobResultBody | undefined;
    /** Read by readEnded, which confirms an ended job's end on the replicas in the same round trip, or acknowledged here. */
    let confirmed = false;
    try {
      job = await findJob(store, id, principalOf(c));
      if (waiter !== undefined && !TERMINAL_STATUSES.has(job.status)) {
        const end = await waiter.ended;
        if (end?.json !== undefined && job.resultType === 'json') {
          // Ended by this process's worker, the end confirmed by the replicas (local-ends.ts): nothing to read back.
          job = { ...job, status: end.status };
          result = { type: 'json', value: JSON.parse(end.json) as unknown };
        } else {
          const ended = await readEnded(store, id, job.resultType);
          if (ended.job === undefined) throw noSuchJob(id);
          ({ job, result } = ended);
        }
        confirmed = true;
      }
    } finally {
      waiter?.cancel();
    }
    if (!confirmed && TERMINAL_STATUSES.has(job.status)) {
      // Ended at the first read: its result and the end's confirmation in one round trip.
      ({ result } = await readEnded(store, job.id, job.resultType));
    }
    if (job.status !== 'completed') throw notFinished(job);
    if (result === undefined) throw new RingpoolError('NOT_FOUND', `the result of job ${job.id} has expired`);
    if (result.type === 'image/png') return c.body(new Uint8Array(result.bytes), 200, { 'content-type': 'image/png' });
    const ref = asResultRef(result.value);
    if (ref !== undefined) {
      const answer = await streamResult(job.id, ref, deps.blobs, c.req.header('range'));
      return c.body(answer.body, answer.status, answer.headers);
    }
    return c.json({ id: job.id, result: result.value });
  });
  return app;
}

/** Why a job that is not completed has no result: it failed (and with what), or it is still on its way. */
function notFinished(job: JobRecord): RingpoolError {
  if (job.status === 'failed') return new RingpoolError('NOT_FINISHED', `job ${job.id} failed and has no result: ${job.error?.message ?? ''}`, { details: { status: job.status, error: job.error } });
  return new RingpoolError('NOT_FINISHED', `job ${job.id} is ${job.status}; its result is ready once it is completed`, { details: { status: job.status, progress: job.progress } });
}

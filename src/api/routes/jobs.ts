// The jobs themselves: list and search them, read one, cancel one, retry a failed one.
import { Hono } from 'hono';
import { RingpoolError } from '../../errors.js';
import { TERMINAL_STATUSES } from '../../store/job-record.js';
import type { JobStore } from '../../store/job-store.js';
import { principalOf } from '../auth.js';
import { describeIssues } from '../errors.js';
import { publicJob } from '../public-job.js';
import type { JobQuota } from '../quota.js';
import { ListJobsQuerySchema } from '../wire.js';
import { findJob } from './job-reads.js';

export interface JobRoutesDeps {
  readonly store: Pick<JobStore, 'getJob' | 'taskErrors' | 'cancelJob' | 'retryJob'>;
  /** Where lists and searches are read: the master, or a replica (`--read-from replica`). */
  readonly listStore: Pick<JobStore, 'listJobs' | 'searchJobs'>;
  /** A retried job is in flight again: it counts against the quota of whoever retried it. */
  readonly quota: Pick<JobQuota, 'admit' | 'release'>;
}

/** Mounted at /v1/jobs. Cancel and retry need the `submit` scope: each is listed in SUBMIT_ROUTES in auth.ts. */
export function jobRoutes(deps: JobRoutesDeps): Hono {
  const { store, listStore, quota } = deps;
  const app = new Hono();

  app.get('/', async (c) => {
    // `token` is the auth middleware's (EventSource and the dashboard pass it in the URL), not a filter.
    const { token: _token, ...params } = c.req.query();
    const query = ListJobsQuerySchema.safeParse(params);
    if (!query.success) throw new RingpoolError('BAD_INPUT', describeIssues(query.error.issues, 'query'));
    const { status, job, limit, cursor, q } = query.data;
    const filter = {
      limit,
      ...(status === undefined ? {} : { status }),
      ...(job === undefined ? {} : { name: job }),
      ...(cursor === undefined ? {} : { cursor }),
    };
    // Lists may come from a replica (`--read-from replica`): a second or two stale is harmless there.
    const page = q === undefined ? await listStore.listJobs(filter) : await listStore.searchJobs(q, filter);
    return c.json({ jobs: page.jobs.map(publicJob), next: page.next });
  });

  app.get('/:id', async (c) => {
    const job = await findJob(store, c.req.param('id'));
    const errors = job.status === 'failed' ? await store.taskErrors(job.id) : [];
    return c.json({ ...publicJob(job), taskErrors: errors });
  });

  app.delete('/:id', async (c) => {
    const job = await findJob(store, c.req.param('id'));
    const status = TERMINAL_STATUSES.has(job.status) ? job.status : await store.cancelJob(job.id);
    if (status !== 'cancelled' || job.status === 'cancelled') {
      throw new RingpoolError('CONFLICT', `job ${job.id} has already ended (${status}); only a queued or running job can be cancelled`);
    }
    return c.json({ id: job.id, status });
  });

  app.post('/:id/retry', async (c) => {
    const job = await findJob(store, c.req.param('id'));
    const conflict = (status: string) => new RingpoolError('CONFLICT', `job ${job.id} is ${status}; only a failed job can be retried`);
    if (job.status !== 'failed') throw conflict(job.status);
    // A retried job is in flight again: it counts against the quota of whoever retried it.
    const principal = principalOf(c).id;
    await quota.admit(principal, job.id);
    const before = await store.retryJob(job.id);
    if (before !== 'failed') {
      await quota.release(principal, job.id).catch(() => {});
      throw conflict(before);
    }
    return c.json({ id: job.id, status: 'queued' }, 202);
  });

  return app;
}

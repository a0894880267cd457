// The jobs themselves: list and search them, read one, cancel one, retry a failed one.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import type { TenantPolicies } from '../../config/tenants.js';
import { RingpoolError } from '../../errors.js';
import { TERMINAL_STATUSES } from '../../store/job-record.js';
import type { JobStore } from '../../store/job-store.js';
import { principalOf, type Principal } from '../auth.js';
import { describeIssues } from '../errors.js';
import { publicJob, publicWebhook } from '../public-job.js';
import type { JobQuota } from '../quota.js';
import { createRoute, errorAnswers, json, JobIdParams, NO_SUCH_JOB, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { CancelAnswerSchema, JobDetailSchema, JobLogsQuerySchema, JobLogsSchema, JobPageSchema, ListJobsQuerySchema, RetryAnswerSchema } from '../wire.js';
import { findJob } from './job-reads.js';

export interface JobRoutesDeps {
  readonly store: Pick<JobStore, 'getJob' | 'taskErrors' | 'taskLogs' | 'cancelJob' | 'retryJob' | 'webhooks'>;
  /** Where lists and searches are read: the master, or a replica (`--read-from replica`). */
  readonly listStore: Pick<JobStore, 'listJobs' | 'searchJobs'>;
  /** A retried job is in flight again: it counts against the quota of whoever retried it, and its tenant's. */
  readonly quota: Pick<JobQuota, 'admit' | 'release' | 'admitTenant' | 'releaseTenant'>;
  /** The tenants' limits (docs/tenants.md). */
  readonly tenants: Pick<TenantPolicies, 'tenantPolicy'>;
  /** Whether no worker node is alive (a job that has not ended then waits for capacity). @default never */
  readonly noCapacity?: (() => Promise<boolean>) | undefined;
}

const listJobs = createRoute({
  operationId: 'listJobs',
  method: 'get',
  path: '/',
  tags: ['jobs'],
  summary: 'list or search jobs, newest first',
  description: "A page of jobs, filtered by status and job type, or searched with `q`; pass `next` as `cursor` for the next page. A token without `admin` sees its tenant's jobs only; an admin sees every tenant's, or one with `tenant`.",
  request: { query: ListJobsQuerySchema },
  responses: {
    200: json('a page of jobs', JobPageSchema),
    ...errorAnswers({
      400: 'a query parameter is not valid, or not one of these (BAD_INPUT); the message names it',
      403: "`tenant` names another tenant than the token's, which only an admin token may list (FORBIDDEN)",
      503: REDIS_DOWN,
    }),
  },
});

const getJob = createRoute({
  operationId: 'getJob',
  method: 'get',
  path: '/{id}',
  tags: ['jobs'],
  summary: "a job: its status, progress, options, timing and, if it failed, its tasks' errors",
  request: { params: JobIdParams },
  responses: { 200: json('the job', JobDetailSchema), ...errorAnswers({ 404: NO_SUCH_JOB, 503: REDIS_DOWN }) },
});

const cancelJob = createRoute({
  operationId: 'cancelJob',
  method: 'delete',
  path: '/{id}',
  tags: ['jobs'],
  summary: 'cancel a queued or running job',
  description: "Its queued tasks are dropped and its running ones stopped on every worker.",
  request: { params: JobIdParams },
  responses: {
    200: json('the job is cancelled', CancelAnswerSchema),
    ...errorAnswers({ 404: NO_SUCH_JOB, 409: 'the job has already ended (CONFLICT)', 503: REDIS_DOWN }),
  },
});

const retryJob = createRoute({
  operationId: 'retryJob',
  method: 'post',
  path: '/{id}/retry',
  tags: ['jobs'],
  summary: 'run a failed job again',
  description: 'Only the tasks without a stored result run again; the job counts against the quota of whoever retried it.',
  request: { params: JobIdParams },
  responses: {
    202: json('the job is queued again', RetryAnswerSchema),
    ...errorAnswers({
      404: NO_SUCH_JOB,
      409: 'the job is not failed (CONFLICT)',
      429: 'this token (or client) has too many jobs queued or running (RATE_LIMITED)',
      503: REDIS_DOWN,
    }),
  },
});

const jobLogs = createRoute({
  operationId: 'getJobLogs',
  method: 'get',
  path: '/{id}/logs',
  tags: ['jobs'],
  summary: "what the job's split, tasks and reduce wrote with ctx.log, oldest first",
  description: "The newest `limit` lines (the job keeps its newest 1,000, for its resultTtlSec), each with its phase (split, task, reduce), task, attempt and node; `task` keeps one task's. Best effort: lines are not acknowledged by the replicas, a thread that crashes loses its call's, and a split resumed by a new leader writes its lines again.",
  request: { params: JobIdParams, query: JobLogsQuerySchema },
  responses: {
    200: json("the job's log", JobLogsSchema),
    ...errorAnswers({ 400: 'a query parameter is not valid, or not one of these (BAD_INPUT); the message names it', 404: NO_SUCH_JOB, 503: REDIS_DOWN }),
  },
});

/** Mounted at /v1/jobs. Cancel and retry need the `submit` scope: each is listed in SUBMIT_ROUTES in auth.ts. */
export function jobRoutes(deps: JobRoutesDeps): OpenAPIHono<BlankEnv> {
  const { store, listStore, quota } = deps;
  const app = routeApp();

  serveRoute(app, listJobs, async (c) => {
    // `token` is the auth middleware's (EventSource and the dashboard pass it in the URL), not a filter.
    const { token: _token, ...params } = c.req.query();
    const query = ListJobsQuerySchema.safeParse(params);
    if (!query.success) throw new RingpoolError('BAD_INPUT', describeIssues(query.error.issues, 'query'));
    const { status, job, limit, cursor, q, tenant } = query.data;
    const filter = {
      limit,
      ...listedTenant(principalOf(c), tenant),
      ...(status === undefined ? {} : { status }),
      ...(job === undefined ? {} : { name: job }),
      ...(cursor === undefined ? {} : { cursor }),
    };
    // Lists may come from a replica (`--read-from replica`): a second or two stale is harmless there.
    const page = q === undefined ? await listStore.listJobs(filter) : await listStore.searchJobs(q, filter);
    return c.json({ jobs: page.jobs.map(publicJob), next: page.next });
  });

  serveRoute(app, getJob, async (c) => {
    const job = await findJob(store, c.req.param('id'), principalOf(c));
    const ended = TERMINAL_STATUSES.has(job.status);
    const [errors, webhook, noCapacity] = await Promise.all([job.status === 'failed' || job.partial ? store.taskErrors(job.id) : [], store.webhooks.forJob(job.id), ended ? false : (deps.noCapacity?.() ?? false)]);
    return c.json({ ...publicJob(job), taskErrors: errors, webhook: publicWebhook(webhook), waitingFor: noCapacity ? ('capacity' as const) : null });
  });

  serveRoute(app, jobLogs, async (c) => {
    const { token: _token, ...params } = c.req.query();
    const query = JobLogsQuerySchema.safeParse(params);
    if (!query.success) throw new RingpoolError('BAD_INPUT', describeIssues(query.error.issues, 'query'));
    const job = await findJob(store, c.req.param('id'), principalOf(c));
    return c.json({ id: job.id, lines: await store.taskLogs(job.id, query.data) });
  });

  serveRoute(app, cancelJob, async (c) => {
    const job = await findJob(store, c.req.param('id'), principalOf(c));
    const status = TERMINAL_STATUSES.has(job.status) ? job.status : await store.cancelJob(job.id);
    if (status !== 'cancelled' || job.status === 'cancelled') {
      throw new RingpoolError('CONFLICT', `job ${job.id} has already ended (${status}); only a queued or running job can be cancelled`);
    }
    return c.json({ id: job.id, status });
  });

  serveRoute(app, retryJob, async (c) => {
    const job = await findJob(store, c.req.param('id'), principalOf(c));
    const conflict = (status: string) => new RingpoolError('CONFLICT', `job ${job.id} is ${status}; only a failed job can be retried`);
    if (job.status !== 'failed') throw conflict(job.status);
    // A retried job is in flight again: it counts against the quota of whoever retried it, and its tenant's.
    const principal = principalOf(c).id;
    const tenantLimit = deps.tenants.tenantPolicy(job.tenant).maxJobsInFlight;
    await quota.admit(principal, job.id);
    if (tenantLimit !== undefined) {
      await quota.admitTenant(job.tenant, job.id, tenantLimit).catch(async (err: unknown) => {
        await quota.release(principal, job.id).catch(() => {});
        throw err;
      });
    }
    const before = await store.retryJob(job.id);
    if (before !== 'failed') {
      await quota.release(principal, job.id).catch(() => {});
      if (tenantLimit !== undefined) await quota.releaseTenant(job.tenant, job.id).catch(() => {});
      throw conflict(before);
    }
    return c.json({ id: job.id, status: 'queued' }, 202);
  });

  return app;
}

/** The tenant a list is limited to: the principal's own without `admin`; for an admin the one asked for, or all. */
function listedTenant(principal: Principal, asked: string | undefined): { tenant?: string } {
  if (principal.scopes.has('admin')) return asked === undefined ? {} : { tenant: asked };
  if (asked !== undefined && asked !== principal.tenant) {
    throw new RingpoolError('FORBIDDEN', `query.tenant: this token belongs to tenant ${principal.tenant} and may list only its jobs; leave tenant out, or use an admin token`);
  }
  return { tenant: principal.tenant };
}

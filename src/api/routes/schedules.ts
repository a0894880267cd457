// Schedules: create one (a job submission and a cron expression), list them with their next runs and the jobs their ticks started, read, pause, resume, delete.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import { z } from 'zod';
import { RingpoolError } from '../../errors.js';
import type { JobResolver } from '../../registry/live-registry.js';
import type { JobStore } from '../../store/job-store.js';
import { nextTicks, noSuchSchedule, parseCron, type ScheduleRecord, type ScheduleRun } from '../../store/schedule-store.js';
import type { TenantPolicies } from '../../config/tenants.js';
import { mayAccessTenant, principalOf, type Principal } from '../auth.js';
import { describeIssues } from '../errors.js';
import { readJson } from '../json-body.js';
import { jobLinks } from '../public-job.js';
import { BODY_REFUSED, createRoute, errorAnswers, json, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { DeleteScheduleAnswerSchema, ScheduleBodySchema, ScheduleListSchema, ScheduleSchema } from '../wire.js';
import { parseSubmission } from './submit-job.js';

export interface ScheduleRoutesDeps {
  readonly store: Pick<JobStore, 'schedules'>;
  readonly registry: Pick<JobResolver, 'get' | 'list'>;
  /** The tenants' default webhooks, given to the jobs of a schedule without a callback (docs/tenants.md). */
  readonly tenants: Pick<TenantPolicies, 'tenantPolicy'>;
  /** Deepest nesting of arrays and objects accepted in the body. */
  readonly maxJsonDepth: number;
  /** Largest accepted body, bytes. */
  readonly bodyLimitBytes: number;
}

/** Next run times shown per schedule. */
const NEXT_RUNS = 5;

const IdParams = z.object({ id: z.string().describe('the schedule id, as the creation answered it (e.g. "sch-0a1b2c3d4e5f")') });
const NO_SUCH_SCHEDULE = 'no schedule with that id (NOT_FOUND)';

const createSchedule = createRoute({
  operationId: 'createSchedule',
  method: 'post',
  path: '/',
  tags: ['schedules'],
  summary: 'run a job on a cron schedule',
  description:
    "The job, input and options are checked as `POST /v1/jobs` checks them, the cron expression and time zone too; nothing is stored on a 4xx. The scheduler leader fires each tick once: the tick's job id is derived from the schedule and the tick.",
  request: { body: { required: true, content: { 'application/json': { schema: ScheduleBodySchema } } } },
  responses: {
    201: json('the schedule is stored', ScheduleSchema),
    ...errorAnswers({
      400: 'the body, cron expression, time zone or input is not valid (BAD_INPUT: the message names the field), the body is not JSON (MALFORMED_JSON), or the job type is unknown (UNKNOWN_JOB_TYPE)',
      ...BODY_REFUSED,
      503: `${REDIS_DOWN}; or stored but the replicas have not confirmed it (NOT_REPLICATED)`,
    }),
  },
});

const listSchedules = createRoute({
  operationId: 'listSchedules',
  method: 'get',
  path: '/',
  tags: ['schedules'],
  summary: 'every schedule, oldest first, with its next runs and the jobs its last ticks started',
  responses: { 200: json('the schedules', ScheduleListSchema), ...errorAnswers({ 503: REDIS_DOWN }) },
});

const getSchedule = createRoute({
  operationId: 'getSchedule',
  method: 'get',
  path: '/{id}',
  tags: ['schedules'],
  summary: 'one schedule, with its next runs and the jobs its last ticks started',
  request: { params: IdParams },
  responses: { 200: json('the schedule', ScheduleSchema), ...errorAnswers({ 404: NO_SUCH_SCHEDULE, 503: REDIS_DOWN }) },
});

function pauseRoute(action: 'pause' | 'resume') {
  return createRoute({
    operationId: `${action}Schedule`,
    method: 'post',
    path: `/{id}/${action}`,
    tags: ['schedules'],
    summary: action === 'pause' ? 'stop firing ticks until resumed' : 'fire the ticks from now on again (the ticks while paused are not run)',
    request: { params: IdParams },
    responses: { 200: json('the schedule as it is now', ScheduleSchema), ...errorAnswers({ 404: NO_SUCH_SCHEDULE, 503: `${REDIS_DOWN}; or NOT_REPLICATED` }) },
  });
}

const deleteSchedule = createRoute({
  operationId: 'deleteSchedule',
  method: 'delete',
  path: '/{id}',
  tags: ['schedules'],
  summary: 'delete a schedule (the jobs it started stay)',
  request: { params: IdParams },
  responses: { 200: json('deleted', DeleteScheduleAnswerSchema), ...errorAnswers({ 404: NO_SUCH_SCHEDULE, 503: `${REDIS_DOWN}; or NOT_REPLICATED` }) },
});

/** Mounted at /v1/schedules. The writes need the `submit` scope: listed in SUBMIT_ROUTES in auth.ts. */
export function scheduleRoutes(deps: ScheduleRoutesDeps): OpenAPIHono<BlankEnv> {
  const { store } = deps;
  const app = routeApp();
  serveRoute(app, createSchedule, async (c) => {
    const body = ScheduleBodySchema.safeParse(await readJson(c, deps.maxJsonDepth, deps.bodyLimitBytes));
    if (!body.success) throw new RingpoolError('BAD_INPUT', describeIssues(body.error.issues, ''));
    const { job, input, options, cron, timezone, missed, paused } = body.data;
    const submission = parseSubmission(deps.registry, { job, input, ...(options === undefined ? {} : { options }) });
    parseCron(cron, timezone);
    const { name, resultType } = submission;
    const { tenant } = principalOf(c);
    const defaults = submission.options.callback === undefined ? deps.tenants.tenantPolicy(tenant).webhooks : [];
    const scheduled = { name, input: submission.input, options: submission.options, resultType, tenant, ...(defaults.length === 0 ? {} : { extraCallbacks: defaults }) };
    const record = await store.schedules.create({ job: scheduled, cron, timezone, missed, paused });
    return c.json(scheduleView(record, []), 201);
  });

  serveRoute(app, listSchedules, async (c) => {
    const principal = principalOf(c);
    const records = (await store.schedules.list()).filter((r) => mayAccessTenant(principal, tenantOf(r)));
    const runs = await Promise.all(records.map((r) => store.schedules.runs(r.id)));
    return c.json({ schedules: records.map((r, i) => scheduleView(r, runs[i] ?? [])) });
  });

  serveRoute(app, getSchedule, async (c) => c.json(await readView(store, c.req.param('id'), principalOf(c))));

  for (const action of ['pause', 'resume'] as const) {
    serveRoute(app, pauseRoute(action), async (c) => {
      const id = c.req.param('id');
      await found(store, id, principalOf(c));
      await store.schedules.setPaused(id, action === 'pause');
      return c.json(await readView(store, id, principalOf(c)));
    });
  }

  serveRoute(app, deleteSchedule, async (c) => {
    const id = c.req.param('id');
    await found(store, id, principalOf(c));
    await store.schedules.remove(id);
    return c.json({ id, deleted: true as const });
  });
  return app;
}

/** The tenant a schedule belongs to: its creator's (`default` for one created before tenants existed). */
function tenantOf(record: ScheduleRecord): string {
  return record.job.tenant ?? 'default';
}

/** The schedule, or NOT_FOUND, alike for an unknown id and another tenant's schedule (without `admin`). */
async function found(store: ScheduleRoutesDeps['store'], id: string, principal: Principal): Promise<ScheduleRecord> {
  const record = await store.schedules.get(id);
  if (record === undefined || !mayAccessTenant(principal, tenantOf(record))) throw noSuchSchedule(id);
  return record;
}

async function readView(store: ScheduleRoutesDeps['store'], id: string, principal: Principal) {
  const record = await found(store, id, principal);
  return scheduleView(record, await store.schedules.runs(id));
}

/** A schedule as the API shows it: its next runs (none while paused) and its last runs with their links. */
function scheduleView(s: ScheduleRecord, runs: readonly ScheduleRun[], now: number = Date.now()) {
  return {
    id: s.id,
    job: s.job.name,
    tenant: tenantOf(s),
    input: s.job.input,
    options: s.job.options,
    cron: s.cron,
    timezone: s.timezone,
    missed: s.missed,
    paused: s.paused,
    createdAt: s.createdAt,
    lastTick: s.lastTick,
    nextRuns: s.paused ? [] : nextTicks(parseCron(s.cron, s.timezone), Math.max(now, s.lastTick), NEXT_RUNS),
    runs: runs.map((r) => ({ tick: r.tick, jobId: r.jobId, links: jobLinks(r.jobId) })),
  };
}

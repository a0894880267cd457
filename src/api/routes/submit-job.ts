// POST /v1/jobs: a submission validated, admitted against its principal's quota, created, and answered (at once, or at its end with `?wait=MS`).
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import type { Context } from 'hono';
import { z } from 'zod';
import { RingpoolError } from '../../errors.js';
import type { JobResolver } from '../../registry/live-registry.js';
import { resolveJobOptions } from '../../sdk/job-options.js';
import type { JobEvents } from '../../store/job-events.js';
import { TERMINAL_STATUSES } from '../../store/job-record.js';
import { WebhookGuard } from '../../transport/webhook-target.js';
import { newJobId, type JobStore, type NewJob } from '../../store/job-store.js';
import { inServerSpan, startJobSpan, traceparentOf } from '../../observability/tracing.js';
import { principalOf } from '../auth.js';
import { describeIssues } from '../errors.js';
import { readJson } from '../json-body.js';
import { jobLinks } from '../public-job.js';
import { SUBMIT_BODY_REF } from '../openapi.js';
import type { JobQuota } from '../quota.js';
import { BODY_REFUSED, createRoute, errorAnswers, json, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { JobAcceptedSchema, JobEndedSchema, SubmitBodySchema } from '../wire.js';
import { confirmEnd, readEnded, WaitQuery, waitQuery, type EndedJobReader } from './job-reads.js';

export interface SubmitJobDeps {
  readonly store: EndedJobReader & Pick<JobStore, 'createJob'>;
  readonly registry: Pick<JobResolver, 'get' | 'list'>;
  readonly quota: Pick<JobQuota, 'keyOf' | 'admit' | 'release'>;
  /** Job-end notifications, for `?wait=MS`; without them the answer is always at once. */
  readonly jobEvents?: Pick<JobEvents, 'waitForEnd'> | undefined;
  /** The node's default webhook and the check of a callback's URL (webhookPolicy). */
  readonly webhooks?: WebhookPolicy;
  /** Deepest nesting of arrays and objects accepted in the body. */
  readonly maxJsonDepth: number;
  /** Largest accepted body, bytes. */
  readonly bodyLimitBytes: number;
}

/**
 * The body is documented by reference: openapi.ts builds `SubmitBody` from the registry at request
 * time, one schema per job type, from SubmitBodySchema and the type's input schema, which
 * parseSubmission checks in that order.
 */
const submitJob = createRoute({
  operationId: 'submitJob',
  method: 'post',
  path: '/',
  tags: ['jobs'],
  summary: 'submit a job',
  description:
    "The body names the job type and gives its input, checked against the type's own schema, and options over the type's defaults; nothing is stored on a 4xx. " +
    'With `?wait=MS` the answer comes when the job ends within MS (200, with its result or error), else 202 as without.',
  request: {
    query: z.object({ wait: WaitQuery }),
    body: { required: true, content: { 'application/json': { schema: { $ref: SUBMIT_BODY_REF } } } },
  },
  responses: {
    200: json('with ?wait=MS: the job ended within the wait; a JSON result is inlined, an image is at links.result', JobEndedSchema),
    202: json('the job is queued (or, with ?wait=MS, still running at the end of the wait)', JobAcceptedSchema),
    ...errorAnswers({
      400: 'the body or ?wait is not valid (BAD_INPUT: the message names the field), the body is not JSON (MALFORMED_JSON), or the job type is unknown (UNKNOWN_JOB_TYPE)',
      ...BODY_REFUSED,
      429: 'this token (or client) has too many jobs queued or running (RATE_LIMITED)',
      503: `${REDIS_DOWN}; or the job was stored but the replicas have not confirmed it (NOT_REPLICATED)`,
    }),
  },
});

/** A submission that passed validation: the job to create, but for its id. */
export type Submission = Omit<NewJob, 'id'>;

type EndWaiter = ReturnType<JobEvents['waitForEnd']>;

/** Mounted at /v1/jobs. Needs the `submit` scope: listed in SUBMIT_ROUTES in auth.ts. */
export function submitJobRoutes(deps: SubmitJobDeps): OpenAPIHono<BlankEnv> {
  const app = routeApp();
  serveRoute(app, submitJob, (c) => inServerSpan('POST', '/v1/jobs', (name) => c.req.header(name), () => submit(c, deps)));
  return app;
}

async function submit(c: Context, deps: SubmitJobDeps): Promise<Response> {
  const wait = waitQuery(c.req.query('wait'));
  const submission = withCallback(parseSubmission(deps.registry, await readJson(c, deps.maxJsonDepth, deps.bodyLimitBytes)), deps.webhooks);
  const id = newJobId();
  // The job's trace (docs/architecture.md §5): its span's context is stored with it, and all its work continues it.
  const span = startJobSpan(submission.name, { 'ringpool.job.id': id });
  const job: NewJob = { id, ...submission, ...(span === undefined ? {} : { traceparent: traceparentOf(span) }) };
  const principal = principalOf(c).id;
  // `?wait=MS`: registered before the job exists, so its end cannot pass unseen.
  const waiter = wait > 0 ? deps.jobEvents?.waitForEnd(job.id, wait) : undefined;
  try {
    await reserveAndCreate(deps, principal, job).finally(() => span?.end());
    if (waiter === undefined) return c.json({ id: job.id, status: 'queued', links: jobLinks(job.id) }, 202);
    return await answerAtEnd(c, deps.store, job, waiter);
  } finally {
    waiter?.cancel();
  }
}

/** Step 1: the envelope checked, the job type looked up, the input checked against its schema, options merged with defaults. */
export function parseSubmission(registry: SubmitJobDeps['registry'], body: unknown): Submission {
  const envelope = SubmitBodySchema.safeParse(body);
  if (!envelope.success) throw new RingpoolError('BAD_INPUT', describeIssues(envelope.error.issues, ''));
  const loaded = registry.get(envelope.data.job);
  if (loaded === undefined) {
    const known = registry.list().map((j) => j.name).join(', ');
    throw new RingpoolError('UNKNOWN_JOB_TYPE', `unknown job type ${JSON.stringify(envelope.data.job)}; known types: ${known}`);
  }
  const input = loaded.module.input.safeParse(envelope.data.input);
  if (!input.success) throw new RingpoolError('BAD_INPUT', describeIssues(input.error.issues, 'input'), { details: { issues: input.error.issues } });
  return {
    name: loaded.name,
    input: input.data,
    options: resolveJobOptions(loaded.module.defaults, envelope.data.options),
    resultType: loaded.module.resultType ?? 'json',
    // Pinned: its split, tasks, retries and reduce run this version, whatever is active later.
    ...(loaded.version === null ? {} : { version: loaded.version }),
  };
}

/** What the submission does with callbacks: the node's default, and why a URL is refused. */
export interface WebhookPolicy {
  readonly defaultUrl: string | undefined;
  /** Why a callback URL may not be reached, judged without DNS (a literal private address). */
  refusal(url: string): string | undefined;
}

/**
 * The policy of `--webhook-url` and `--webhook-allow`; an allow-list that is not CIDR, or a default
 * URL the guard refuses, is a CONFIG error.
 */
export function webhookPolicy(allow: readonly string[], defaultUrl: string | undefined): WebhookPolicy {
  let guard: WebhookGuard;
  try {
    guard = new WebhookGuard(allow);
  } catch (err) {
    throw new RingpoolError('CONFIG', `webhookAllow: ${(err as Error).message}`);
  }
  const why = defaultUrl === undefined ? undefined : guard.literalRefusal(defaultUrl);
  if (why !== undefined) throw new RingpoolError('CONFIG', `webhookUrl: ${why}`);
  return { defaultUrl, refusal: (url) => guard.literalRefusal(url) };
}

/** Step 1b: a callback to a literal private address is refused (400); without one, the node's default applies. */
function withCallback(submission: Submission, policy: WebhookPolicy | undefined): Submission {
  const callback = submission.options.callback;
  if (callback === undefined) {
    if (policy?.defaultUrl === undefined) return submission;
    return { ...submission, options: { ...submission.options, callback: { url: policy.defaultUrl } } };
  }
  const why = (policy ?? webhookPolicy([], undefined)).refusal(callback.url);
  if (why !== undefined) throw new RingpoolError('BAD_INPUT', `options.callback.url: ${why}`);
  return submission;
}

/**
 * Steps 2 and 3: the quota's admission and the creation leave in one write, in that order: the
 * creation checks the reservation, so a refused submission creates nothing.
 */
async function reserveAndCreate(deps: SubmitJobDeps, principal: string, job: NewJob): Promise<void> {
  const { store, quota } = deps;
  const create = () => store.createJob(job, { reservedIn: quota.keyOf(principal) });
  const [admitted, created] = store.together(() => [quota.admit(principal, job.id), create()]);
  await reserved(admitted, created);
  await createdOrGivenBack(quota, principal, job.id, created, create);
}

/** The quota's answer. Refused (429): the creation, refused too for want of a reservation, is awaited first. */
async function reserved(admitted: Promise<void>, created: Promise<void>): Promise<void> {
  try {
    await admitted;
  } catch (err) {
    await created.catch(() => {});
    throw err;
  }
}

/** The creation's answer. Failed: the reserved slot is given back unless the job exists after all. */
async function createdOrGivenBack(quota: SubmitJobDeps['quota'], principal: string, id: string, created: Promise<void>, create: () => Promise<void>): Promise<void> {
  try {
    // Admitted yet refused: ioredis resent the admission after the creation (its script was
    // missing on a new master), so the creation ran first. Now the reservation is there.
    await created.catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'RATE_LIMITED') return create();
      throw err;
    });
  } catch (err) {
    // Give the slot back unless the job exists after all (e.g. stored but short of replicas).
    await quota.release(principal, id, { onlyIfMissing: true }).catch(() => {});
    throw err;
  }
}

/**
 * Step 4 with `?wait=MS`: submit and wait, as a serverless function is invoked: one request, the
 * result in its answer when the job ends within the wait (a job still running answers 202 as without).
 */
async function answerAtEnd(c: Context, store: EndedJobReader, submitted: NewJob, waiter: EndWaiter): Promise<Response> {
  const { id } = submitted;
  await waiter.ended;
  const { job, result } = await readEnded(store, id, submitted.resultType);
  if (job === undefined || !TERMINAL_STATUSES.has(job.status)) return c.json({ id, status: job?.status ?? 'queued', links: jobLinks(id) }, 202);
  await confirmEnd(store, id);
  return c.json({
    id,
    status: job.status,
    // An image is not inlined in JSON: it is at links.result.
    ...(result?.type === 'json' ? { result: result.value } : {}),
    ...(job.error === null ? {} : { error: job.error }),
    links: jobLinks(id),
  });
}

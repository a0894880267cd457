// POST /v1/jobs: a submission validated, admitted against its principal's and tenant's quotas, created (or found by its Idempotency-Key), and answered (at once, or at its end with `?wait=MS`).
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
import { newJobId, newJobRecord, type CreateOutcome, type IdempotencyClaim, type JobStore, type NewJob } from '../../store/job-store.js';
import type { LocalCreations } from '../../store/local-creations.js';
import type { TenantPolicies, TenantPolicy } from '../../config/tenants.js';
import { inServerSpan, startJobSpan, traceparentOf } from '../../observability/tracing.js';
import { principalOf, type Principal } from '../auth.js';
import { IDEMPOTENCY_TTL_SEC, IdempotencyKeyHeader, idempotencyKeyOf, submissionDigest } from '../idempotency.js';
import { describeIssues } from '../errors.js';
import { readJson } from '../json-body.js';
import { jobLinks } from '../public-job.js';
import { SUBMIT_BODY_REF } from '../openapi.js';
import type { JobQuota } from '../quota.js';
import { BODY_REFUSED, createRoute, errorAnswers, json, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { JobAcceptedSchema, JobEndedSchema, SubmitBodySchema } from '../wire.js';
import { readEnded, WaitQuery, waitQuery, type EndedJobReader } from './job-reads.js';

export interface SubmitJobDeps {
  readonly store: EndedJobReader & Pick<JobStore, 'createJob'>;
  readonly registry: Pick<JobResolver, 'get' | 'list'>;
  readonly quota: Pick<JobQuota, 'keyOf' | 'admit' | 'release' | 'tenantKeyOf' | 'admitTenant' | 'releaseTenant'>;
  /** The tenants' limits and default webhooks (docs/tenants.md). */
  readonly tenants: Pick<TenantPolicies, 'tenantPolicy'>;
  /** Job-end notifications, for `?wait=MS`; without them the answer is always at once. */
  readonly jobEvents?: Pick<JobEvents, 'waitForEnd'> | undefined;
  /** The node's default webhook and the check of a callback's URL (webhookPolicy). */
  readonly webhooks?: WebhookPolicy;
  /** Deepest nesting of arrays and objects accepted in the body. */
  readonly maxJsonDepth: number;
  /** Largest accepted body, bytes. */
  readonly bodyLimitBytes: number;
  /** A leader in the same process, told of each creation's record (local-creations.ts). */
  readonly localCreations?: LocalCreations | undefined;
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
    'With `?wait=MS` the answer comes when the job ends within MS (200, with its result or error), else 202 as without. ' +
    'With an `Idempotency-Key` the tenant used within 24 h for the same body, the answer is 200 at once with the job that key created (no result inlined); with another body, 422.',
  request: {
    query: z.object({ wait: WaitQuery }),
    headers: z.object({ 'idempotency-key': IdempotencyKeyHeader }),
    body: { required: true, content: { 'application/json': { schema: { $ref: SUBMIT_BODY_REF } } } },
  },
  responses: {
    200: json('with ?wait=MS: the job ended within the wait; a JSON result is inlined, an image is at links.result. Or the Idempotency-Key was used with this body: the job it created', JobEndedSchema),
    202: json('the job is queued (or, with ?wait=MS, still running at the end of the wait)', JobAcceptedSchema),
    ...errorAnswers({
      400: 'the body, ?wait or the Idempotency-Key header is not valid (BAD_INPUT: the message names the field), the body is not JSON (MALFORMED_JSON), or the job type is unknown (UNKNOWN_JOB_TYPE)',
      ...BODY_REFUSED,
      422: 'the Idempotency-Key was used within 24 h for a submission with another body (IDEMPOTENCY_MISMATCH)',
      429: "this token (or client), or its tenant, has too many jobs queued or running (RATE_LIMITED)",
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
  const idempotencyKey = idempotencyKeyOf(c.req.header('idempotency-key'));
  const principal = principalOf(c);
  const body = await readJson(c, deps.maxJsonDepth, deps.bodyLimitBytes);
  const submission = withCallback(parseSubmission(deps.registry, body), deps.webhooks, deps.tenants.tenantPolicy(principal.tenant));
  const id = newJobId();
  // The job's trace (docs/architecture.md §5): its span's context is stored with it, and all its work continues it.
  const span = startJobSpan(submission.name, { 'ringpool.job.id': id });
  const job: NewJob = { id, ...submission, tenant: principal.tenant, ...(span === undefined ? {} : { traceparent: traceparentOf(span) }) };
  const claim = idempotencyKey === undefined ? undefined : { tenant: principal.tenant, key: idempotencyKey, digest: submissionDigest(body), ttlSec: IDEMPOTENCY_TTL_SEC };
  // `?wait=MS`: registered before the job exists, so its end cannot pass unseen.
  const waiter = wait > 0 ? deps.jobEvents?.waitForEnd(job.id, wait) : undefined;
  try {
    const outcome = await reserveAndCreate(deps, principal, job, claim).finally(() => span?.end());
    if (!outcome.created) return await answerReplay(c, deps.store, outcome);
    if (waiter === undefined) return c.json({ id: job.id, status: 'queued', links: jobLinks(job.id) }, 202);
    return await answerAtEnd(c, deps.store, job, waiter);
  } finally {
    waiter?.cancel();
  }
}

/** The Idempotency-Key names a job already: 200 with it (same body), or 422 naming the key (another body). */
async function answerReplay(c: Context, store: EndedJobReader, outcome: Extract<CreateOutcome, { created: false }>): Promise<Response> {
  const id = outcome.existing;
  if (!outcome.sameBody) {
    throw new RingpoolError('IDEMPOTENCY_MISMATCH', `header Idempotency-Key: this key was used within 24 h for job ${id}, submitted with another body; send a new key for a new submission`, { details: { jobId: id } });
  }
  const job = await store.getJob(id);
  return c.json({ id, status: job?.status ?? 'queued', links: jobLinks(id) }, 200);
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

/**
 * Step 1b: a callback to a literal private address is refused (400). A job without one gets its
 * tenant's default webhooks (checked at startup, docs/tenants.md), or else the node's default.
 */
function withCallback(submission: Submission, policy: WebhookPolicy | undefined, tenant: TenantPolicy): Submission {
  const callback = submission.options.callback;
  if (callback === undefined) {
    if (tenant.webhooks.length > 0) return { ...submission, extraCallbacks: tenant.webhooks };
    if (policy?.defaultUrl === undefined) return submission;
    return { ...submission, options: { ...submission.options, callback: { url: policy.defaultUrl } } };
  }
  const why = (policy ?? webhookPolicy([], undefined)).refusal(callback.url);
  if (why !== undefined) throw new RingpoolError('BAD_INPUT', `options.callback.url: ${why}`);
  return submission;
}

/** The quotas a submission is admitted against: its principal's, and its tenant's when the tenant has a limit. */
interface Admission {
  readonly principal: Principal;
  /** The tenant's `maxJobsInFlight`; undefined: no tenant-wide limit. */
  readonly tenantLimit: number | undefined;
}

/**
 * Steps 2 and 3: the quotas' admissions and the creation leave in one write, in that order: the
 * creation checks the reservations, so a refused submission creates nothing. A creation that
 * finds its Idempotency-Key taken answers that job whatever the quotas said (it gave their
 * reservations back): a client resending at its limit gets its job, not a 429.
 */
async function reserveAndCreate(deps: SubmitJobDeps, principal: Principal, job: NewJob, claim: IdempotencyClaim | undefined): Promise<CreateOutcome> {
  const { store, quota, localCreations } = deps;
  const who: Admission = { principal, tenantLimit: deps.tenants.tenantPolicy(principal.tenant).maxJobsInFlight };
  const now = Date.now();
  const create = () =>
    store.createJob(job, {
      now,
      reservedIn: quota.keyOf(principal.id),
      ...(who.tenantLimit === undefined ? {} : { tenantReservedIn: quota.tenantKeyOf(principal.tenant) }),
      ...(claim === undefined ? {} : { idempotency: claim }),
    });
  localCreations?.creating(newJobRecord(job, now));
  try {
    const [admitted, created] = store.together(() => [admit(quota, who, job.id), create()] as const);
    const [admission, creation] = await Promise.allSettled([admitted, created]);
    if (creation.status === 'fulfilled' && !creation.value.created) return creation.value;
    if (admission.status === 'rejected') throw admission.reason;
    return await createdOrGivenBack(quota, who, job.id, created, create);
  } finally {
    localCreations?.settled(job.id);
  }
}

/** Both admissions, sent before this returns (so that they leave in the creation's write). */
function admit(quota: SubmitJobDeps['quota'], who: Admission, id: string): Promise<unknown> {
  const { principal, tenantLimit } = who;
  return Promise.all([quota.admit(principal.id, id), ...(tenantLimit === undefined ? [] : [quota.admitTenant(principal.tenant, id, tenantLimit)])]);
}

/** The creation's answer. Failed: the reserved slots are given back unless the job exists after all. */
async function createdOrGivenBack(quota: SubmitJobDeps['quota'], who: Admission, id: string, created: Promise<CreateOutcome>, create: () => Promise<CreateOutcome>): Promise<CreateOutcome> {
  try {
    // Admitted yet refused: ioredis resent the admission after the creation (its script was
    // missing on a new master), so the creation ran first. Now the reservation is there.
    return await created.catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'RATE_LIMITED') return create();
      throw err;
    });
  } catch (err) {
    // Give the slots back unless the job exists after all (e.g. stored but short of replicas).
    await quota.release(who.principal.id, id, { onlyIfMissing: true }).catch(() => {});
    if (who.tenantLimit !== undefined) await quota.releaseTenant(who.principal.tenant, id, { onlyIfMissing: true }).catch(() => {});
    throw err;
  }
}

/**
 * Step 4 with `?wait=MS`: submit and wait, as a serverless function is invoked: one request, the
 * result in its answer when the job ends within the wait (a job still running answers 202 as without).
 */
async function answerAtEnd(c: Context, store: EndedJobReader, submitted: NewJob, waiter: EndWaiter): Promise<Response> {
  const { id } = submitted;
  const end = await waiter.ended;
  if (end !== undefined) {
    // Ended by this process's worker, the end confirmed by the replicas: what a read would find (store-results.lua).
    const result = end.json !== undefined && submitted.resultType === 'json' ? { result: JSON.parse(end.json) as unknown } : {};
    return c.json({ id, status: end.status, ...result, links: jobLinks(id) });
  }
  const { job, result } = await readEnded(store, id, submitted.resultType);
  // An ended job's end is on the replicas: readEnded confirmed it in the same round trip.
  if (job === undefined || !TERMINAL_STATUSES.has(job.status)) return c.json({ id, status: job?.status ?? 'queued', links: jobLinks(id) }, 202);
  return c.json({
    id,
    status: job.status,
    // An image is not inlined in JSON: it is at links.result.
    ...(result?.type === 'json' ? { result: result.value } : {}),
    ...(job.error === null ? {} : { error: job.error }),
    links: jobLinks(id),
  });
}

// createApi(deps): the HTTP API as a Hono app; tests call app.request(), only the CLI opens a socket.
import { IncomingMessage } from 'node:http';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from 'pino';
import { z } from 'zod';
import { RingpoolError } from '../errors.js';
import { describeJobTypes, type JobRegistry } from '../registry/job-registry.js';
import type { ResultType } from '../sdk/index.js';
import { JobOptionsSchema, resolveJobOptions } from '../sdk/job-options.js';
import { JOB_STATUSES, TERMINAL_STATUSES, type JobRecord } from '../store/job-record.js';
import type { JobEvents } from '../store/job-events.js';
import { isJobId, newJobId, type JobResultBody, type JobStore } from '../store/job-store.js';
import type { Metrics } from '../observability/metrics.js';
import { isNodeId } from '../node-id.js';
import { apiAuth, principalOf } from './auth.js';
import { describeIssues, toHttpError } from './errors.js';
import { JobQuota, QUOTA_DEFAULTS } from './quota.js';
import { readinessBody, type Readiness } from './readiness.js';

export interface ApiOptions {
  /** Largest accepted request body, bytes. @default 1048576 */
  readonly bodyLimitBytes?: number;
  /**
   * Bearer tokens, each `TOKEN` (every scope) or `TOKEN:scope+scope` (submit, read, admin); when any
   * is given every route but /healthz and /readyz requires one (see auth.ts for which scope). @default []
   */
  readonly apiTokens?: readonly string[];
  /** Jobs queued or running per token (or per client address without tokens) before 429. @default 1000 */
  readonly maxJobsInFlight?: number;
  /** Deepest nesting of arrays and objects accepted in a JSON body. @default 64 */
  readonly maxJsonDepth?: number;
  /** How often the SSE stream looks for progress, ms. @default 250 */
  readonly eventsPollMs?: number;
}

export interface ApiDeps {
  readonly store: JobStore;
  readonly registry: JobRegistry;
  readonly logger?: Logger;
  /** What `GET /v1/cluster` shows: schedulers, workers, Redis. */
  readonly clusterView?: () => Promise<unknown>;
  /** This process's metrics, served at `/metrics`; `refreshMetrics` runs before each scrape. */
  readonly metrics?: Metrics;
  readonly refreshMetrics?: () => Promise<void>;
  /** Where job lists and searches are read, when not the master. @default store */
  readonly listStore?: JobStore;
  /** Job-end notifications, for `?wait=MS` on `POST /v1/jobs` and `GET /v1/jobs/:id/result`. */
  readonly jobEvents?: JobEvents;
  /** Whether every Redis connection of the process answers. @default a PING on the store's */
  readonly readiness?: () => Readiness;
}

export const API_DEFAULTS = Object.freeze({
  bodyLimitBytes: 1_048_576,
  apiTokens: [] as readonly string[],
  eventsPollMs: 250,
  maxJobsInFlight: QUOTA_DEFAULTS.maxJobsInFlight,
  maxJsonDepth: 64,
});

const SubmitSchema = z
  .object({
    job: z.string().min(1).max(100).describe('job type name, see GET /v1/job-types'),
    input: z.unknown(),
    options: JobOptionsSchema.optional(),
  })
  .strict();

/** `?wait=MS` on submission and on the result route: wait up to MS (at most 30 s) for the job to end. */
const WaitQuery = z.coerce.number().int().min(0).max(30_000).default(0);

const ListQuery = z
  .object({
    status: z.enum(JOB_STATUSES as [string, ...string[]]).optional(),
    job: z.string().max(100).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(20),
    cursor: z.coerce.number().int().min(0).optional(),
    q: z.string().trim().min(1).max(200).optional().describe('a job id prefix, or words of the input'),
  })
  .strict();

export function createApi(deps: ApiDeps, options: ApiOptions = {}): Hono {
  const opts = { ...API_DEFAULTS, ...options };
  if (!Number.isInteger(opts.bodyLimitBytes) || opts.bodyLimitBytes < 1) throw new RingpoolError('CONFIG', `bodyLimitBytes must be an integer >= 1, got ${opts.bodyLimitBytes}`);
  if (!Number.isInteger(opts.maxJsonDepth) || opts.maxJsonDepth < 1) throw new RingpoolError('CONFIG', `maxJsonDepth must be an integer >= 1, got ${opts.maxJsonDepth}`);
  const { store, registry } = deps;
  const quota = new JobQuota(store.quotas, { maxJobsInFlight: opts.maxJobsInFlight });
  const app = new Hono();

  app.onError((err, c) => {
    const { status, body, headers } = toHttpError(err);
    // The path only: a query string may carry ?token=, and tokens are never logged.
    if (status >= 500) deps.logger?.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
    return c.json(body, status as 400, headers);
  });
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}; the API lives under /v1` } }, 404));

  if (deps.metrics !== undefined) {
    const counter = deps.metrics.httpRequests;
    app.use('*', async (c, next) => {
      await next();
      counter.inc({ method: c.req.method, route: c.req.routePath, status: String(c.res.status) });
    });
  }
  app.use('*', apiAuth(opts.apiTokens));
  // Routes that need Redis answer 503 at once while the connection is down (after auth: a client
  // without a token learns nothing about the backend).
  const redisUp = failFastWhileRedisDown(store);
  for (const path of ['/readyz', '/v1/jobs', '/v1/jobs/*', '/v1/cluster', '/v1/workers/*']) app.use(path, redisUp);

  app.get('/metrics', async (c) => {
    if (deps.metrics === undefined) throw new RingpoolError('NOT_FOUND', 'metrics are not enabled on this node');
    await deps.refreshMetrics?.().catch(() => {});
    return c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType });
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (deps.readiness === undefined) {
      await store.ping();
      return c.json({ status: 'ready' });
    }
    const r = deps.readiness();
    return c.json(readinessBody(r), r.ready ? 200 : 503);
  });

  const jobTypes = describeJobTypes(registry);
  app.get('/v1/job-types', (c) => c.json({ jobTypes }));

  app.post(
    '/v1/jobs',
    async (c) => {
      const wait = waitQuery(c.req.query('wait'));
      const body = await readJson(c, opts.maxJsonDepth, opts.bodyLimitBytes);
      const envelope = SubmitSchema.safeParse(body);
      if (!envelope.success) throw new RingpoolError('BAD_INPUT', describeIssues(envelope.error.issues, ''));
      const loaded = registry.get(envelope.data.job);
      if (loaded === undefined) {
        const known = registry.list().map((j) => j.name).join(', ');
        throw new RingpoolError('UNKNOWN_JOB_TYPE', `unknown job type ${JSON.stringify(envelope.data.job)}; known types: ${known}`);
      }
      const input = loaded.module.input.safeParse(envelope.data.input);
      if (!input.success) throw new RingpoolError('BAD_INPUT', describeIssues(input.error.issues, 'input'), { details: { issues: input.error.issues } });
      const id = newJobId();
      const principal = principalOf(c).id;
      const create = () =>
        store.createJob(
          {
            id,
            name: loaded.name,
            input: input.data,
            options: resolveJobOptions(loaded.module.defaults, envelope.data.options),
            resultType: loaded.module.resultType ?? 'json',
          },
          { reservedIn: quota.keyOf(principal) },
        );
      // `?wait=MS`: registered before the job exists, so its end cannot pass unseen.
      const waiter = wait > 0 ? deps.jobEvents?.waitForEnd(id, wait) : undefined;
      try {
        // The quota's admission and the creation leave in one write, in that order: the creation
        // checks the reservation, so a refused submission creates nothing.
        const [admitted, created] = store.together(() => [quota.admit(principal, id), create()]);
        try {
          await admitted;
        } catch (err) {
          await created.catch(() => {});
          throw err;
        }
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
        if (waiter === undefined) return c.json({ id, status: 'queued', links: jobLinks(id) }, 202);
        // Submit and wait, as a serverless function is invoked: one request, the result in its
        // answer when the job ends within the wait (a job still running answers 202 as without).
        await waiter.ended;
        const { job, result } = await readEnded(id, loaded.module.resultType ?? 'json');
        if (job === undefined || !TERMINAL_STATUSES.has(job.status)) return c.json({ id, status: job?.status ?? 'queued', links: jobLinks(id) }, 202);
        await confirmEnd(id);
        return c.json({
          id,
          status: job.status,
          // An image is not inlined in JSON: it is at links.result.
          ...(result?.type === 'json' ? { result: result.value } : {}),
          ...(job.error === null ? {} : { error: job.error }),
          links: jobLinks(id),
        });
      } finally {
        waiter?.cancel();
      }
    },
  );

  app.get('/v1/jobs', async (c) => {
    // `token` is the auth middleware's (EventSource and the dashboard pass it in the URL), not a filter.
    const { token: _token, ...params } = c.req.query();
    const query = ListQuery.safeParse(params);
    if (!query.success) throw new RingpoolError('BAD_INPUT', describeIssues(query.error.issues, 'query'));
    const { status, job, limit, cursor, q } = query.data;
    const filter = {
      limit,
      ...(status === undefined ? {} : { status: status as JobRecord['status'] }),
      ...(job === undefined ? {} : { name: job }),
      ...(cursor === undefined ? {} : { cursor }),
    };
    // Lists may come from a replica (`--read-from replica`): a second or two stale is harmless there.
    const lists = deps.listStore ?? store;
    const page = q === undefined ? await lists.listJobs(filter) : await lists.searchJobs(q, filter);
    return c.json({ jobs: page.jobs.map(publicJob), next: page.next });
  });

  app.get('/v1/jobs/:id', async (c) => {
    const job = await findJob(c.req.param('id'));
    const errors = job.status === 'failed' ? await store.taskErrors(job.id) : [];
    return c.json({ ...publicJob(job), taskErrors: errors });
  });

  app.get('/v1/jobs/:id/result', async (c) => {
    const id = c.req.param('id');
    const wait = waitQuery(c.req.query('wait'));
    // Long poll: register before the first read, so an end published in between is not missed.
    const waiter = wait > 0 && isJobId(id) ? deps.jobEvents?.waitForEnd(id, wait) : undefined;
    let job: JobRecord;
    let result: JobResultBody | undefined;
    try {
      job = await findJob(id);
      if (waiter !== undefined && !TERMINAL_STATUSES.has(job.status)) {
        await waiter.ended;
        const ended = await readEnded(id, job.resultType);
        if (ended.job === undefined) throw noSuchJob(id);
        ({ job, result } = ended);
      }
    } finally {
      waiter?.cancel();
    }
    if (TERMINAL_STATUSES.has(job.status)) await confirmEnd(job.id);
    if (job.status !== 'completed') {
      if (job.status === 'failed') throw new RingpoolError('NOT_FINISHED', `job ${job.id} failed and has no result: ${job.error?.message ?? ''}`, { details: { status: job.status, error: job.error } });
      throw new RingpoolError('NOT_FINISHED', `job ${job.id} is ${job.status}; its result is ready once it is completed`, { details: { status: job.status, progress: job.progress } });
    }
    result ??= await store.getResult(job.id, job.resultType);
    if (result === undefined) throw new RingpoolError('NOT_FOUND', `the result of job ${job.id} has expired`);
    if (result.type === 'image/png') return c.body(new Uint8Array(result.bytes), 200, { 'content-type': 'image/png' });
    return c.json({ id: job.id, result: result.value });
  });

  app.delete('/v1/jobs/:id', async (c) => {
    const job = await findJob(c.req.param('id'));
    const status = TERMINAL_STATUSES.has(job.status) ? job.status : await store.cancelJob(job.id);
    if (status !== 'cancelled' || job.status === 'cancelled') {
      throw new RingpoolError('CONFLICT', `job ${job.id} has already ended (${status}); only a queued or running job can be cancelled`);
    }
    return c.json({ id: job.id, status });
  });

  app.post('/v1/workers/:id/drain', async (c) => {
    const id = c.req.param('id');
    if (!isNodeId(id) || !(await store.workers.isRegistered(id))) {
      throw new RingpoolError('NOT_FOUND', `no worker node ${JSON.stringify(id.slice(0, 80))}; see GET /v1/cluster for the nodes`);
    }
    await store.requestDrain(id);
    return c.json({ id, draining: true }, 202);
  });

  app.post('/v1/jobs/:id/retry', async (c) => {
    const job = await findJob(c.req.param('id'));
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

  app.get('/v1/jobs/:id/events', async (c) => {
    const first = await findJob(c.req.param('id'));
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
          await stream.sleep(opts.eventsPollMs);
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

  app.get('/v1/cluster', async (c) => {
    const view = deps.clusterView ? await deps.clusterView() : {};
    return c.json(view);
  });

  /** Once a wait for the job's end is over (ended, or ran out): the record and the result, in one round trip. */
  async function readEnded(id: string, type: ResultType): Promise<{ job: JobRecord | undefined; result: JobResultBody | undefined }> {
    const [job, result] = await store.together(() => Promise.all([store.getJob(id), store.getResult(id, type)]));
    return { job, result };
  }

  /**
   * Before an answer says how a job ended (its result, its error): the end is on the replicas.
   * A job's end is read on the master, where its writer's script ran; its writer answers only
   * once `WAIT` confirms it, and so does this: an end the master then lost (killed before its
   * replica had it, the replica promoted) would have been read and handed out, and the job run
   * again with maybe another outcome. Costs one round trip to the replicas (`WAIT`).
   */
  async function confirmEnd(id: string): Promise<void> {
    try {
      await store.confirmReplicated();
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'NOT_REPLICATED') throw err;
      const { details } = err as RingpoolError;
      throw new RingpoolError('NOT_REPLICATED', `job ${id} has ended on the Redis master, but the replicas have not confirmed it yet (${(err as Error).message}); ask again in a moment`, { details });
    }
  }

  async function findJob(id: string): Promise<JobRecord> {
    if (!isJobId(id)) throw new RingpoolError('NOT_FOUND', `${JSON.stringify(id.slice(0, 80))} is not a job id (ids look like "m3x9k2p1-0a1b2c3d4e")`);
    const job = await store.getJob(id);
    if (job === undefined) throw noSuchJob(id);
    return job;
  }

  return app;
}

function noSuchJob(id: string): RingpoolError {
  return new RingpoolError('NOT_FOUND', `no job with id ${id} (it may have expired)`);
}

function waitQuery(raw: string | undefined): number {
  const wait = WaitQuery.safeParse(raw);
  if (!wait.success) throw new RingpoolError('BAD_INPUT', describeIssues(wait.error.issues, 'query.wait'));
  return wait.data;
}

/**
 * While the store's connection that was up is lost (see `JobStore.lostConnection`), a request
 * fails fast instead of waiting in ioredis's queue, and sends nothing, so "changed nothing" holds.
 * The client reconnects by itself, and requests pass again once it is ready.
 */
function failFastWhileRedisDown(store: JobStore): MiddlewareHandler {
  return async (_c, next) => {
    const lost = store.lostConnection;
    if (lost !== undefined) {
      throw new RingpoolError('REDIS_UNAVAILABLE', `Redis is unreachable (connection ${lost}); the request changed nothing, try again shortly`);
    }
    await next();
  };
}

/**
 * The body as JSON: content type checked, nesting bounded (deep values would overflow the stack of
 * whatever walks them later: validation, search indexing, JSON.stringify), and `__proto__` keys
 * refused, so no code that copies the input key by key can set an object's prototype from it.
 */
async function readJson(c: Context, maxDepth: number, maxBytes: number): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new RingpoolError('UNSUPPORTED_MEDIA_TYPE', `send the body as JSON with "Content-Type: application/json" (got ${type === '' ? 'none' : JSON.stringify(type.slice(0, 100))})`);
  }
  const text = await readBodyText(c, maxBytes);
  const depth = jsonNestingDepth(text, maxDepth);
  if (depth > maxDepth) throw new RingpoolError('BAD_INPUT', `the body nests arrays and objects more than ${maxDepth} levels deep`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw new ForbiddenKey(key);
      return value;
    }) as unknown;
  } catch (err) {
    if (err instanceof ForbiddenKey) throw new RingpoolError('BAD_INPUT', `the body contains the key "${err.key}", which is refused (it could change an object's prototype); rename it`);
    throw new RingpoolError('MALFORMED_JSON', `the body is not valid JSON: ${(err as Error).message.slice(0, 300)}`);
  }
  return parsed;
}

/**
 * The request body as text, refused past `maxBytes` (413) whether or not it declares a length.
 * Behind @hono/node-server it is read from Node's request stream: building the web Request and
 * its stream (what `c.req.text()` and hono's bodyLimit do) cost more CPU than a small job's whole
 * submission. The server discards whatever is left of a refused body.
 */
async function readBodyText(c: Context, maxBytes: number): Promise<string> {
  const tooLarge = () => new RingpoolError('PAYLOAD_TOO_LARGE', `request body is larger than the limit of ${maxBytes} bytes`);
  if (Number(c.req.header('content-length')) > maxBytes) throw tooLarge();
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!(incoming instanceof IncomingMessage) || incoming.readableEnded) {
    // Not served by node-server (app.request in tests), or the body was read already.
    const bytes = await c.req.arrayBuffer();
    if (bytes.byteLength > maxBytes) throw tooLarge();
    return new TextDecoder().decode(bytes);
  }
  return await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      incoming.off('data', onData).off('end', onEnd).off('error', done);
      if (err === undefined) resolve(Buffer.concat(chunks, size).toString('utf8'));
      else reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) done(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    incoming.on('data', onData).on('end', onEnd).on('error', done);
  });
}

class ForbiddenKey extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

/** The deepest `[`/`{` nesting of a JSON text (strings skipped), counting no further than `stopAbove + 1`. */
export function jsonNestingDepth(text: string, stopAbove: number = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) depth--;
  }
  return max;
}

function jobLinks(id: string) {
  return { self: `/v1/jobs/${id}`, result: `/v1/jobs/${id}/result`, events: `/v1/jobs/${id}/events` };
}

/** The job as the API shows it. */
export function publicJob(job: JobRecord) {
  return {
    id: job.id,
    job: job.name,
    status: job.status,
    input: job.input,
    options: job.options,
    resultType: job.resultType,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    progress: job.progress,
    error: job.error,
    timing: job.timing,
    tasksPerNode: job.tasksPerNode,
    retriedTasks: job.retriedTasks,
    reruns: job.reruns,
    links: jobLinks(job.id),
  };
}

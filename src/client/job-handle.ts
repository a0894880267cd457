// A job as the client holds it: its id, and its status, result (long poll), events (SSE), cancel and retry.
import { RingpoolError } from '../errors.js';
import { RingpoolApiError, RingpoolJobError, type JobError } from './errors.js';
import { jobEvents } from './events.js';
import { readJson, withQuery, type CallOptions, type Http } from './http.js';
import type { CancelAnswer, JobDetail, JobEvent, JobLogs, RetryAnswer } from './types.js';

export interface ResultOptions extends CallOptions {
  /** How long each long poll (`GET /v1/jobs/:id/result?wait=`) asks the server to wait for the end, ms, 1–30000. @default 25000 */
  readonly waitMs?: number | undefined;
}

export const DEFAULT_RESULT_WAIT_MS = 25_000;
/** The API's largest `?wait=` (src/api/routes/job-reads.ts). */
export const MAX_WAIT_MS = 30_000;

export class JobHandle<Result = unknown> {
  readonly id: string;
  readonly #http: Http;
  readonly #path: string;

  constructor(http: Http, id: string) {
    if (typeof id !== 'string' || id === '') throw new RingpoolError('CONFIG', `a job id is a non-empty string such as "m3x9k2p1-0a1b2c3d4e", got ${JSON.stringify(id)}`);
    this.id = id;
    this.#http = http;
    this.#path = `/v1/jobs/${encodeURIComponent(id)}`;
  }

  /** The job now (`GET /v1/jobs/:id`): status, progress, options, timing; a failed job's task errors. */
  async status(call: CallOptions = {}): Promise<JobDetail> {
    return (await this.#http.json<JobDetail>({ method: 'GET', path: this.#path }, call)).body;
  }

  /**
   * The job's result once it completes: long polls repeated until the job ends (bound it with
   * `signal` or `AbortSignal.timeout`). A JSON result as it was reduced; an image's bytes as a
   * Uint8Array. A job that failed or was cancelled throws `RingpoolJobError` with the job's error.
   */
  async result(options: ResultOptions = {}): Promise<Result> {
    const waitMs = checkWait(options.waitMs ?? DEFAULT_RESULT_WAIT_MS, 'waitMs');
    const path = withQuery(`${this.#path}/result`, { wait: waitMs });
    for (;;) {
      try {
        return await this.#http.exchange({ method: 'GET', path, waitMs }, options, async (res, request) => {
          if ((res.headers.get('content-type') ?? '').startsWith('image/')) return new Uint8Array(await res.arrayBuffer()) as Result;
          return ((await readJson(res, this.#http.url, request)) as { result: Result }).result;
        });
      } catch (err) {
        if (!stillOnItsWay(err, this.id)) throw err;
      }
    }
  }

  /** The job's progress events as it runs, then its end event (see `jobEvents` in events.ts). */
  events(call: CallOptions = {}): AsyncGenerator<JobEvent, void, undefined> {
    return jobEvents(this.#http, this.id, call);
  }

  /** Cancels a queued or running job (`DELETE /v1/jobs/:id`); one that has ended is a 409 CONFLICT. */
  async cancel(call: CallOptions = {}): Promise<CancelAnswer> {
    return (await this.#http.json<CancelAnswer>({ method: 'DELETE', path: this.#path }, call)).body;
  }

  /** What the job's tasks wrote with `ctx.log`, oldest first (`GET /v1/jobs/:id/logs`): the newest `limit` (200) lines, or one `task`'s. */
  async logs(query: { readonly limit?: number | undefined; readonly task?: number | undefined } = {}, call: CallOptions = {}): Promise<JobLogs> {
    return (await this.#http.json<JobLogs>({ method: 'GET', path: withQuery(`${this.#path}/logs`, { limit: query.limit, task: query.task }) }, call)).body;
  }

  /** Runs a failed job again, only its tasks without a result (`POST /v1/jobs/:id/retry`); any other is a 409 CONFLICT. */
  async retry(call: CallOptions = {}): Promise<RetryAnswer> {
    return (await this.#http.json<RetryAnswer>({ method: 'POST', path: `${this.#path}/retry` }, call)).body;
  }
}

/**
 * Whether a result request's error says the job is still queued or running (ask again). A job
 * that failed or was cancelled throws its `RingpoolJobError` here.
 */
function stillOnItsWay(err: unknown, id: string): boolean {
  if (!(err instanceof RingpoolApiError) || err.code !== 'NOT_FINISHED') return false;
  const details = (err.details ?? {}) as { status?: unknown; error?: JobError | null };
  if (details.status === 'failed' || details.status === 'cancelled') throw new RingpoolJobError(id, details.status, details.error ?? null);
  return details.status === 'queued' || details.status === 'running';
}

export function checkWait(ms: unknown, name: string): number {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > MAX_WAIT_MS) {
    throw new RingpoolError('CONFIG', `${name} must be an integer number of ms in [1, ${MAX_WAIT_MS}] (the API's longest wait), got ${String(ms)}`);
  }
  return ms;
}

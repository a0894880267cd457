// How the client speaks HTTP: base URL and token, a timeout and the caller's signal on every request, errors typed, 429/503 asked again after Retry-After.
import { RingpoolError } from '../errors.js';
import { RingpoolApiError, RingpoolClientError, RingpoolNetworkError, RingpoolTimeoutError, type ApiErrorCode } from './errors.js';

/** What every call of the client takes. */
export interface CallOptions {
  /** Aborts the call: it rejects at once with the signal's reason, a long poll, a stream or a Retry-After wait included. */
  readonly signal?: AbortSignal | undefined;
  /** This call's `timeoutMs` (each request's, see `ClientOptions.timeoutMs`). */
  readonly timeoutMs?: number | undefined;
}

/** Told before the client waits out a Retry-After to ask again. */
export interface RetryEvent {
  /** e.g. `GET http://127.0.0.1:3000/v1/jobs/…/result?wait=25000` */
  readonly request: string;
  readonly error: RingpoolApiError;
  readonly delayMs: number;
  /** 1 for the first retry of this call. */
  readonly retry: number;
}

export interface RetryOptions {
  /** Most time one call spends waiting out Retry-After delays before it throws the 429/503 it got, ms; 0 never asks again. @default 30000 */
  readonly budgetMs?: number;
  /** Called before each wait (the CLI prints it). */
  readonly onRetry?: ((event: RetryEvent) => void) | undefined;
}

export interface HttpOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** An API token (`--api-token` of the server), sent as `Authorization: Bearer`. */
  readonly token?: string | undefined;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch | undefined;
  /** How long a request may go without its answer, ms, on top of any server-side wait it asks for (`?wait=`). @default 30000 */
  readonly timeoutMs?: number | undefined;
  /** Asking again after a 429 or 503 (see `Http` for which requests); `false` never does. */
  readonly retry?: RetryOptions | false | undefined;
}

export interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path and query under the base URL, e.g. `/v1/jobs?limit=2`. */
  readonly path: string;
  readonly body?: unknown;
  /** The server-side wait the request asks for (`?wait=MS`): added to its timeout. */
  readonly waitMs?: number | undefined;
  /** @default application/json */
  readonly accept?: string;
  /**
   * Sent as the `Idempotency-Key` header (docs/tenants.md): the server answers a resent request
   * with what the first one created, so the retry rule may resend it on any transient failure.
   */
  readonly idempotencyKey?: string | undefined;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRY_BUDGET_MS = 30_000;

/**
 * One client's HTTP. Every request carries a timeout (a timer's signal joined with the caller's
 * by `AbortSignal.any`); a timeout throws `RingpoolTimeoutError`, an unreachable URL
 * `RingpoolNetworkError`, an error answer `RingpoolApiError`, an abort the signal's reason.
 *
 * Which 429/503 answers are asked again, after the Retry-After they carry (1 s without one), within
 * the call's retry budget:
 * - a GET, always: reading changes nothing;
 * - a write (POST, DELETE) only where the API says the request changed nothing: `429 RATE_LIMITED`
 *   (the quota refuses before the job is created, in the same Redis round trip: nothing is stored)
 *   and `503 REDIS_UNAVAILABLE`, whose message says "the request changed nothing" (while the API's
 *   Redis connection is down it answers so before sending anything). Never `503 NOT_REPLICATED`: the write is on the Redis master, short
 *   of replicas (docs/architecture.md §4), so a second submission would be a second job; nor any
 *   other 503, nor a connection that failed mid-request, where the write may have happened.
 */
export class Http {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #budgetMs: number;
  readonly #onRetry: RetryOptions['onRetry'];

  constructor(options: HttpOptions) {
    this.url = checkUrl(options.url);
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '' || /\s/.test(options.token))) {
      throw new RingpoolError('CONFIG', 'token must be a non-empty API token without white space (one of the server\'s --api-token values)');
    }
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch;
    if (typeof this.#fetch !== 'function') throw new RingpoolError('CONFIG', 'fetch must be a function; this runtime has no global fetch, so pass one');
    this.#timeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    const retry = options.retry === false ? { budgetMs: 0 } : (options.retry ?? {});
    const budget = retry.budgetMs ?? DEFAULT_RETRY_BUDGET_MS;
    if (!Number.isInteger(budget) || budget < 0) throw new RingpoolError('CONFIG', `retry.budgetMs must be an integer >= 0 (ms; 0 never asks again), got ${String(budget)}`);
    this.#budgetMs = budget;
    this.#onRetry = retry.onRetry;
  }

  /** A request answered with JSON: its status and body. */
  async json<T>(spec: RequestSpec, call: CallOptions = {}): Promise<{ status: number; body: T }> {
    return await this.exchange(spec, call, async (res, request) => ({ status: res.status, body: (await readJson(res, this.url, request)) as T }));
  }

  /**
   * A request whose answer's body the caller reads (an image, an event stream): the timeout ends
   * with the headers, the caller's signal still aborts the body.
   */
  async open(spec: RequestSpec, call: CallOptions = {}): Promise<Response> {
    return await this.exchange(spec, call, async (res) => res);
  }

  /** Sends the request, reads its answer with `read`, and asks again after a 429/503 where allowed (see the class). */
  async exchange<T>(spec: RequestSpec, call: CallOptions, read: (res: Response, request: string) => Promise<T>): Promise<T> {
    let waited = 0;
    for (let retry = 1; ; retry++) {
      try {
        return await this.#once(spec, call, read);
      } catch (err) {
        const delayMs = this.#retryDelay(spec, err, waited);
        if (delayMs === undefined) throw err;
        this.#onRetry?.({ request: describe(spec, this.url), error: err as RingpoolApiError, delayMs, retry });
        await sleep(delayMs, call.signal);
        waited += delayMs;
      }
    }
  }

  async #once<T>(spec: RequestSpec, call: CallOptions, read: (res: Response, request: string) => Promise<T>): Promise<T> {
    const request = describe(spec, this.url);
    const timeoutMs = (call.timeoutMs === undefined ? this.#timeoutMs : checkTimeout(call.timeoutMs, 'timeoutMs')) + (spec.waitMs ?? 0);
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(), timeoutMs);
    const signal = call.signal === undefined ? timer.signal : AbortSignal.any([call.signal, timer.signal]);
    try {
      const doFetch = this.#fetch;
      const res = await doFetch(`${this.url}${spec.path}`, { method: spec.method, headers: this.#headers(spec), signal, ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }) });
      if (!res.ok) throw await apiError(res, request);
      return await read(res, request);
    } catch (err) {
      if (call.signal?.aborted) throw call.signal.reason;
      if (timer.signal.aborted) throw new RingpoolTimeoutError(request, timeoutMs);
      if (err instanceof RingpoolClientError) throw err;
      throw new RingpoolNetworkError(this.url, `cannot reach ringpool at ${this.url} (${causeOf(err)})`, { cause: err });
    } finally {
      clearTimeout(timeout);
    }
  }

  #headers(spec: RequestSpec): Record<string, string> {
    return {
      accept: spec.accept ?? 'application/json',
      ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(this.#token === undefined ? {} : { authorization: `Bearer ${this.#token}` }),
      ...(spec.idempotencyKey === undefined ? {} : { 'idempotency-key': spec.idempotencyKey }),
    };
  }

  /** How long to wait before asking again, or undefined to throw `err` (see the class for the rule). */
  #retryDelay(spec: RequestSpec, err: unknown, waited: number): number | undefined {
    const idempotent = spec.idempotencyKey !== undefined;
    // An idempotent write is resent after a lost connection or a timeout too: a second one answers the first's job.
    const transient = idempotent && (err instanceof RingpoolNetworkError || err instanceof RingpoolTimeoutError);
    if (!transient && (!(err instanceof RingpoolApiError) || !mayAskAgain(spec.method, err.status, err.code, changedNothing(err.details), idempotent))) return undefined;
    const delayMs = Math.max(1, err instanceof RingpoolApiError ? (err.retryAfterSec ?? 1) : 1) * 1000;
    return waited + delayMs <= this.#budgetMs ? delayMs : undefined;
  }
}

/**
 * Whether an error answer may be asked again after its Retry-After: the rule of `Http` (a 429/503;
 * a write only when it changed nothing: a 429 RATE_LIMITED, refused before any write, or a 503
 * REDIS_UNAVAILABLE whose `details.changedNothing` is true, refused before anything was sent to
 * Redis; a REDIS_UNAVAILABLE without it means Redis was lost mid-request, and the write may stand).
 * An `idempotent` write (sent with an Idempotency-Key) may always be asked again: a write that
 * stood is answered with what it created (docs/tenants.md).
 */
export function mayAskAgain(method: RequestSpec['method'], status: number, code: ApiErrorCode, changedNothing = false, idempotent = false): boolean {
  if (status !== 429 && status !== 503) return false;
  return method === 'GET' || idempotent || code === 'RATE_LIMITED' || (code === 'REDIS_UNAVAILABLE' && changedNothing);
}

function changedNothing(details: unknown): boolean {
  return (details as { changedNothing?: unknown } | null | undefined)?.changedNothing === true;
}

function describe(spec: RequestSpec, url: string): string {
  return `${spec.method} ${url}${spec.path}`;
}

function checkUrl(url: unknown): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search !== '' || parsed.hash !== '') {
    throw new RingpoolError('CONFIG', `url must be the API's http(s) base URL such as http://127.0.0.1:3000, got ${JSON.stringify(url)}`);
  }
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
}

function checkTimeout(ms: unknown, name: string): number {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > 2_000_000_000) {
    throw new RingpoolError('CONFIG', `${name} must be an integer number of ms in [1, 2000000000], got ${String(ms)}`);
  }
  return ms;
}

/** The API's error body as a `RingpoolApiError`; an answer without one (a proxy's page) keeps its status, coded INTERNAL. */
async function apiError(res: Response, request: string): Promise<RingpoolApiError> {
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const e = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const retryAfterSec = retryAfter(res.headers.get('retry-after'));
  if (e !== undefined && typeof e.code === 'string' && typeof e.message === 'string') {
    return new RingpoolApiError({ status: res.status, code: e.code as ApiErrorCode, message: e.message, details: e.details, retryAfterSec, request });
  }
  const message = `${request} answered ${res.status} ${res.statusText} without ringpool's error body: ${text.slice(0, 200)}`;
  return new RingpoolApiError({ status: res.status, code: 'INTERNAL', message, retryAfterSec, request });
}

/** `Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfter(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** The body of a JSON answer; anything else is not the ringpool API. */
export async function readJson(res: Response, url: string, request: string): Promise<unknown> {
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('json')) {
    await res.body?.cancel();
    throw new RingpoolClientError(`${request} answered ${res.status} with ${type || 'no content type'}, not JSON: is ${url} the ringpool API?`);
  }
  return await res.json();
}

/** What a failed fetch says went wrong: undici puts the reason (ECONNREFUSED …) in `cause`. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause;
  const inner = cause instanceof Error ? cause.message || String((cause as { code?: unknown }).code ?? cause) : cause === undefined ? undefined : String(cause);
  return inner ?? (err instanceof Error ? err.message : String(err));
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `path?k=v&…` with the defined values. */
export function withQuery(path: string, query: Readonly<Record<string, string | number | undefined>>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

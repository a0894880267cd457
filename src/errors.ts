// Typed errors with stable codes; how they cross threads, Redis and HTTP as plain data.

export type ErrorCode =
  | 'BAD_INPUT'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNKNOWN_JOB_TYPE'
  | 'NOT_FOUND'
  | 'NOT_FINISHED'
  | 'CONFLICT'
  /** An Idempotency-Key reused with another body (422). */
  | 'IDEMPOTENCY_MISMATCH'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'TASK_FAILED'
  | 'TIMEOUT'
  | 'OUT_OF_MEMORY'
  | 'CANCELLED'
  | 'TOO_MANY_TASKS'
  | 'RESULT_TOO_LARGE'
  | 'STALE_TERM'
  | 'NOT_LEADER'
  | 'NOT_REPLICATED'
  | 'REDIS_UNAVAILABLE'
  | 'CONFIG'
  | 'BLOB_NOT_FOUND'
  | 'INTERNAL';

/** The one table from error code to HTTP status. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  BAD_INPUT: 400,
  MALFORMED_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNKNOWN_JOB_TYPE: 400,
  NOT_FOUND: 404,
  NOT_FINISHED: 409,
  CONFLICT: 409,
  IDEMPOTENCY_MISMATCH: 422,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  TASK_FAILED: 500,
  TIMEOUT: 500,
  OUT_OF_MEMORY: 500,
  CANCELLED: 409,
  TOO_MANY_TASKS: 400,
  RESULT_TOO_LARGE: 400,
  STALE_TERM: 409,
  NOT_LEADER: 503,
  NOT_REPLICATED: 503,
  REDIS_UNAVAILABLE: 503,
  CONFIG: 500,
  BLOB_NOT_FOUND: 404,
  INTERNAL: 500,
});

const CODES = new Set<string>(Object.keys(HTTP_STATUS));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODES.has(value);
}

/** What an error looks like on the wire: in Redis, between threads, in HTTP bodies. */
export interface SerializedError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: unknown;
  readonly stack?: string;
}

export class RingpoolError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RingpoolError';
    this.code = code;
    this.details = options.details;
  }
}

/**
 * Turns anything thrown into plain data. A foreign error keeps its message and stack and is
 * coded `fallback`, or by its own `code` when that is one of ours (errors rebuilt after a
 * thread or Redis hop are recognised by code, never by `instanceof`).
 */
export function serializeError(err: unknown, fallback: ErrorCode = 'INTERNAL'): SerializedError {
  if (err !== null && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; details?: unknown; stack?: unknown };
    const code = isErrorCode(e.code) ? e.code : fallback;
    const message = typeof e.message === 'string' ? e.message : String(err);
    const out: { code: ErrorCode; message: string; details?: unknown; stack?: string } = { code, message };
    if (e.details !== undefined) out.details = e.details;
    if (typeof e.stack === 'string') out.stack = e.stack;
    return out;
  }
  return { code: fallback, message: String(err) };
}

export function deserializeError(data: SerializedError): RingpoolError {
  const err = new RingpoolError(isErrorCode(data.code) ? data.code : 'INTERNAL', data.message, {
    details: data.details,
  });
  if (data.stack !== undefined) err.stack = data.stack;
  return err;
}

/*
 * What Redis, or ioredis on its behalf, says when it could not take a command for now: the
 * connection is down or was cut (ECONNREFUSED … Command timed out), a failover or restart is in
 * progress (READONLY, LOADING, MASTERDOWN, CLUSTERDOWN), too few replicas are connected
 * (NOREPLICAS), or the server cannot take writes until an operator or a script lets it (MISCONF,
 * OOM, BUSY). ioredis's own errors are recognised by name (MaxRetriesPerRequestError) or message.
 */
const TRANSIENT_REDIS =
  /ECONNREFUSED|ECONNRESET|EPIPE|EHOSTUNREACH|ENOTFOUND|ETIMEDOUT|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|max retries per request|Reached the max retries|enableOfflineQueue|Command timed out|LOADING|MASTERDOWN|READONLY|CLUSTERDOWN|NOREPLICAS|MISCONF|OOM command not allowed|BUSY Redis is busy/;

/**
 * Whether an error says Redis could not be reached or could not take the command for now, so
 * that the same request may succeed later: a failover, a dropped connection, replicas behind.
 * Ours are recognised by code (NOT_REPLICATED, REDIS_UNAVAILABLE), others by name and message.
 */
export function isTransientRedisError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (code === 'NOT_REPLICATED' || code === 'REDIS_UNAVAILABLE') return true;
  const text = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return TRANSIENT_REDIS.test(text);
}

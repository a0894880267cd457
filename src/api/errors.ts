// Turns anything thrown inside a route into the JSON error body, HTTP status and headers (one place).
import { HTTPException } from 'hono/http-exception';
import { HTTP_STATUS, RingpoolError, isTransientRedisError, serializeError, type ErrorCode } from '../errors.js';

export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly details?: unknown };
}

export interface HttpError {
  readonly status: number;
  readonly body: ErrorBody;
  /** `WWW-Authenticate` on 401/403 (RFC 6750 §3), `Retry-After` on 429/503 (RFC 9110 §10.2.3). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Seconds a client is told to wait when Redis is unreachable. */
export const REDIS_RETRY_AFTER_SEC = 2;

export function toHttpError(err: unknown): HttpError {
  let typed: RingpoolError;
  if (err instanceof RingpoolError) typed = err;
  else if (err instanceof HTTPException) typed = new RingpoolError(err.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_INPUT', err.message);
  else if (isTransientRedisError(err)) {
    // Lost while the request ran: a write may have reached Redis before the connection went.
    typed = new RingpoolError('REDIS_UNAVAILABLE', 'Redis was lost while the request ran; a write may or may not have been applied: read the state before sending it again');
  } else {
    const s = serializeError(err);
    typed = new RingpoolError('INTERNAL', `internal error: ${s.message}`);
  }
  const body: ErrorBody = { error: { code: typed.code, message: typed.message, ...(typed.details === undefined ? {} : { details: typed.details }) } };
  return { status: HTTP_STATUS[typed.code], body, headers: headersFor(typed) };
}

function headersFor(err: RingpoolError): Record<string, string> {
  const details = (err.details ?? {}) as { reason?: unknown; required?: unknown; retryAfterSec?: unknown };
  switch (err.code) {
    case 'UNAUTHORIZED': {
      // RFC 6750 §3.1: no error attribute when the request had no credentials at all.
      const reason = details.reason === 'invalid_token' || details.reason === 'invalid_request' ? `, error="${details.reason}"` : '';
      return { 'www-authenticate': `Bearer realm="ringpool"${reason}` };
    }
    case 'FORBIDDEN':
      return typeof details.required === 'string'
        ? { 'www-authenticate': `Bearer realm="ringpool", error="insufficient_scope", scope="${details.required}"` }
        : {};
    case 'RATE_LIMITED':
      return { 'retry-after': String(typeof details.retryAfterSec === 'number' ? Math.max(1, Math.ceil(details.retryAfterSec)) : 1) };
    case 'REDIS_UNAVAILABLE':
    case 'NOT_REPLICATED':
      return { 'retry-after': String(REDIS_RETRY_AFTER_SEC) };
    default:
      return {};
  }
}

/** zod issues as one message naming each field, e.g. `input.to: Too big: expected number to be <=1e12`. */
export function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>, root: string): string {
  return issues
    .slice(0, 5)
    .map((i) => `${[root, ...i.path.map(String)].filter(Boolean).join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}

// Turns anything thrown inside a route into the JSON error body and HTTP status (one place).
import { HTTPException } from 'hono/http-exception';
import { HTTP_STATUS, RingpoolError, serializeError, type ErrorCode } from '../errors.js';

export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly details?: unknown };
}

const REDIS_DOWN = /ECONNREFUSED|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|enableOfflineQueue|ETIMEDOUT|Reached the max retries/;

export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  let typed: RingpoolError;
  if (err instanceof RingpoolError) typed = err;
  else if (err instanceof HTTPException) typed = new RingpoolError(err.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_INPUT', err.message);
  else if (err instanceof Error && REDIS_DOWN.test(`${err.name} ${err.message}`)) {
    typed = new RingpoolError('REDIS_UNAVAILABLE', 'Redis is unreachable; the request changed nothing, try again shortly');
  } else {
    const s = serializeError(err);
    typed = new RingpoolError('INTERNAL', `internal error: ${s.message}`);
  }
  const body: ErrorBody = { error: { code: typed.code, message: typed.message, ...(typed.details === undefined ? {} : { details: typed.details }) } };
  return { status: HTTP_STATUS[typed.code], body };
}

/** zod issues as one message naming each field, e.g. `input.to: Too big: expected number to be <=1e12`. */
export function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>, root: string): string {
  return issues
    .slice(0, 5)
    .map((i) => `${[root, ...i.path.map(String)].filter(Boolean).join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}

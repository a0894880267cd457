// Bearer-token middleware: when tokens are configured every route but the health checks needs one.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { RingpoolError } from '../errors.js';

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Compares in constant time (hashing first makes the lengths equal). */
export function tokenMatches(given: string, expected: readonly Buffer[]): boolean {
  const d = digest(given);
  let ok = false;
  for (const e of expected) ok = timingSafeEqual(d, e) || ok;
  return ok;
}

export function bearerAuth(tokens: readonly string[]): MiddlewareHandler {
  const expected = tokens.map(digest);
  return async (c, next) => {
    if (expected.length === 0 || OPEN_PATHS.has(c.req.path)) return await next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    const given = match?.[1] ?? c.req.query('token');
    if (given === undefined) throw new RingpoolError('UNAUTHORIZED', 'this server requires an API token: send "Authorization: Bearer <token>"');
    if (!tokenMatches(given, expected)) throw new RingpoolError('UNAUTHORIZED', 'the API token is not valid');
    await next();
  };
}

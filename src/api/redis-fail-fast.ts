// Middleware: while the API's Redis connection is lost, requests that need it answer 503 at once.
import type { MiddlewareHandler } from 'hono';
import { RingpoolError } from '../errors.js';
import type { JobStore } from '../store/job-store.js';

/**
 * While the store's connection that was up is lost (see `JobStore.lostConnection`), a request
 * fails fast instead of waiting in ioredis's queue, and sends nothing, so "changed nothing" holds:
 * its answer says so in `details.changedNothing`, on which a client may send a write again.
 * The client reconnects by itself, and requests pass again once it is ready.
 */
export function failFastWhileRedisDown(store: Pick<JobStore, 'lostConnection'>): MiddlewareHandler {
  return async (_c, next) => {
    const lost = store.lostConnection;
    if (lost !== undefined) {
      throw new RingpoolError('REDIS_UNAVAILABLE', `Redis is unreachable (connection ${lost}); the request changed nothing, try again shortly`, { details: { changedNothing: true } });
    }
    await next();
  };
}

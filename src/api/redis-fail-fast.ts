// Middleware: while the API's Redis connection is lost, requests that need it answer 503 at once.
import type { MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import { RingpoolError } from '../errors.js';

/** One listener pair per connection, however many apps share it. */
const LINKS = new WeakMap<Redis, { lost: boolean }>();

/**
 * While a connection that was up is lost, ioredis queues commands until a reconnect attempt fails
 * (seconds, with backoff); a request then fails fast instead, and sends nothing, so "changed
 * nothing" holds. The client reconnects by itself, and requests pass again once it is ready.
 * Before the first connection, requests are let through (and queued), as at startup.
 */
export function failFastWhileRedisDown(redis: Redis): MiddlewareHandler {
  let link = LINKS.get(redis);
  if (link === undefined) {
    const state = { lost: false };
    redis.on('close', () => {
      state.lost = true;
    });
    redis.on('ready', () => {
      state.lost = false;
    });
    LINKS.set(redis, (link = state));
  }
  const state = link;
  return async (_c, next) => {
    if (state.lost && redis.status !== 'ready') {
      throw new RingpoolError('REDIS_UNAVAILABLE', `Redis is unreachable (connection ${redis.status}); the request changed nothing, try again shortly`);
    }
    await next();
  };
}

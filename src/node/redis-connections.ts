// Opens the Redis connections one process needs, each configured for its use.
import { Redis, type RedisOptions } from 'ioredis';

export type ConnectionUse =
  /** Requests from the API: fail fast so a client gets a 503, never a hang. */
  | 'api'
  /** The scheduler and worker store: retry through a restart or failover. */
  | 'durable'
  /** BullMQ, blocking pops and pub/sub: BullMQ requires maxRetriesPerRequest null. */
  | 'blocking';

export function openRedis(url: string, use: ConnectionUse, name: string): Redis {
  const options: RedisOptions = {
    connectionName: `ringpool:${name}`,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    ...(use === 'api' ? { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2000 } : {}),
    ...(use === 'durable' ? { maxRetriesPerRequest: 20 } : {}),
    ...(use === 'blocking' ? { maxRetriesPerRequest: null, enableReadyCheck: false } : {}),
  };
  const redis = new Redis(url, options);
  // Errors surface on the commands that fail; the connection keeps reconnecting meanwhile.
  redis.on('error', () => {});
  return redis;
}

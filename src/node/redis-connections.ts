// Opens the Redis connections one process needs, each configured for its use, by URL or through Sentinel.
import { Redis, type RedisOptions } from 'ioredis';

export type ConnectionUse =
  /** Requests from the API: fail fast so a client gets a 503, never a hang. */
  | 'api'
  /** The scheduler and worker store: retry through a restart or failover. */
  | 'durable'
  /** BullMQ, blocking pops and pub/sub: BullMQ requires maxRetriesPerRequest null. */
  | 'blocking';

/** Where the Redis master is: a URL, or the sentinels that know it (and follow a failover). */
export type RedisTarget =
  | { readonly url: string }
  | { readonly sentinels: ReadonlyArray<{ host: string; port: number }>; readonly name: string; readonly password?: string; readonly tls?: boolean };

export function redisTarget(config: { redisUrl?: string | undefined; sentinels: readonly string[]; sentinelName: string }): RedisTarget | undefined {
  if (config.sentinels.length > 0) {
    const password = config.redisUrl ? new URL(config.redisUrl).password || undefined : undefined;
    return {
      sentinels: config.sentinels.map((s) => {
        const [host, port] = s.split(':') as [string, string];
        return { host, port: Number(port) };
      }),
      name: config.sentinelName,
      ...(password ? { password: decodeURIComponent(password) } : {}),
      ...(config.redisUrl?.startsWith('rediss://') ? { tls: true } : {}),
    };
  }
  return config.redisUrl === undefined ? undefined : { url: config.redisUrl };
}

export function describeTarget(target: RedisTarget): string {
  return 'url' in target ? target.url.replace(/\/\/[^@]*@/, '//***@') : `sentinel ${target.name} via ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
}

export function openRedis(target: RedisTarget, use: ConnectionUse, name: string): Redis {
  const options: RedisOptions = {
    connectionName: `ringpool:${name}`,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    // After a failover the old master may answer READONLY: reconnect so Sentinel names the new one.
    reconnectOnError: (err) => (/READONLY|LOADING|MASTERDOWN/.test(err.message) ? 2 : false),
    ...(use === 'api' ? { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2000 } : {}),
    ...(use === 'durable' ? { maxRetriesPerRequest: 20 } : {}),
    ...(use === 'blocking' ? { maxRetriesPerRequest: null, enableReadyCheck: false } : {}),
  };
  const redis =
    'url' in target
      ? new Redis(target.url, options)
      : new Redis({
          ...options,
          sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
          name: target.name,
          ...(target.password ? { password: target.password } : {}),
          ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
          sentinelRetryStrategy: (attempt: number) => Math.min(100 * attempt, 2000),
        });
  // Errors surface on the commands that fail; the connection keeps reconnecting meanwhile.
  redis.on('error', () => {});
  return redis;
}

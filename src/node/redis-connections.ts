// Opens the Redis connections one process needs, each configured for its use, by URL or through Sentinel.
import type { RedisOptions } from 'ioredis';
import { RingpoolError } from '../errors.js';
import { HealingSentinelConnector } from './sentinel-connector.js';
import { SupervisedRedis, type SupervisionOptions } from './supervised-redis.js';

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
  | {
      readonly sentinels: ReadonlyArray<{ host: string; port: number }>;
      readonly name: string;
      readonly password?: string;
      readonly tls?: boolean;
      /** `slave`: connect to a replica Sentinel names (reads that may be stale). @default 'master' */
      readonly role?: 'master' | 'slave';
    };

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

/** Where lists may be read from: a replica given by URL, or one that Sentinel names; undefined for the master. */
export function replicaTarget(config: { readFrom: 'master' | 'replica'; replicaUrl?: string | undefined }, master: RedisTarget): RedisTarget | undefined {
  if (config.readFrom === 'master') return undefined;
  if ('sentinels' in master) return { ...master, role: 'slave' };
  if (config.replicaUrl === undefined) throw new RingpoolError('CONFIG', '--read-from replica needs --replica URL (or --sentinels, which find one)');
  return { url: config.replicaUrl };
}

/** A connection of its own for one use, supervised (see supervised-redis.ts): it cannot stay dead. */
export function openRedis(target: RedisTarget, use: ConnectionUse, name: string, supervision?: SupervisionOptions): SupervisedRedis {
  const options: RedisOptions = {
    connectionName: `ringpool:${name}`,
    // At most 500 ms between attempts: after a failover every process is back within that of the
    // promotion (a reconnect that is under way no longer hears Sentinel's announcement, see
    // sentinel-connector.ts); an attempt at a server that is down costs one refused connection.
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 500),
    // On a failover ioredis ends the old socket and waits this long for it to close before it
    // destroys it and reconnects: a frozen master never closes it, and the default 2 s was 2 s more
    // of unavailability per failover. A live peer closes in well under this.
    disconnectTimeout: 200,
    reconnectOnError,
    ...(use === 'api' ? { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2000 } : {}),
    ...(use === 'durable' ? { maxRetriesPerRequest: 20 } : {}),
    ...(use === 'blocking' ? { maxRetriesPerRequest: null, enableReadyCheck: false } : {}),
  };
  const redis =
    'url' in target
      ? new SupervisedRedis(name, target.url, options, supervision)
      : new SupervisedRedis(name, undefined, {
          ...options,
          // ioredis's own, but a failover announced during a reconnect cannot end the connection.
          Connector: HealingSentinelConnector as NonNullable<RedisOptions['Connector']>, // ioredis types its options `unknown`
          sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
          name: target.name,
          ...(target.role === 'slave' ? { role: 'slave' as const } : {}),
          ...(target.password ? { password: target.password } : {}),
          ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
          sentinelRetryStrategy: (attempt: number) => Math.min(100 * attempt, 2000),
          // A frozen or partitioned master keeps its sockets open: without this a client would
          // wait on it forever. On `+switch-master` ioredis drops the connection and asks again.
          failoverDetector: true,
          // A sentinel that hangs must not hang the lookup; the next one is asked.
          sentinelCommandTimeout: 1000,
          // The ready check is where ioredis checks that the node it reached is a master (ROLE):
          // a sentinel that has not yet heard of a failover may still name the demoted one.
          enableReadyCheck: true,
        }, supervision);
  // Errors surface on the commands that fail; the connection keeps reconnecting meanwhile.
  redis.on('error', () => {});
  return redis;
}

/**
 * Errors after which the connection is re-established (2: and the failed command resent).
 * After a failover the old master, now a replica, answers writes with READONLY and unblocks
 * blocked clients (BullMQ's BZPOPMIN) with UNBLOCKED; a node still loading its data answers
 * LOADING; MASTERDOWN comes from a replica that lost its master. Reconnecting asks Sentinel
 * for the current master. (NOREPLICAS is not here: the master is the right one, it just has
 * too few replicas to accept the write, and reconnecting would change nothing.)
 */
export function reconnectOnError(err: Error): 2 | false {
  return /\b(READONLY|LOADING|MASTERDOWN|UNBLOCKED)\b/.test(err.message) ? 2 : false;
}

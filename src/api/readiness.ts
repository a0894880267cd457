// What /readyz answers, for the API and for the other roles' health routes alike.

/** One Redis connection's state (node/supervised-redis.ts keeps it). */
export interface ConnectionState {
  readonly name: string;
  /** ioredis's status: ready, connecting, reconnecting, end, closed. */
  readonly status: string;
  readonly healthy: boolean;
  /** Since when it has not been healthy, ms; 0 when healthy. */
  readonly unhealthyForMs: number;
}

/** A process is ready only when every connection it holds answers. */
export interface Readiness {
  readonly ready: boolean;
  readonly connections: readonly ConnectionState[];
}

/** The body /readyz answers 200 or 503 with, naming the connections that do not answer. */
export function readinessBody(r: Readiness): object {
  if (r.ready) return { status: 'ready', connections: r.connections };
  const down = r.connections.filter((c) => !c.healthy).map((c) => `${c.name} (${c.status}, ${Math.round(c.unhealthyForMs / 1000)} s)`);
  return { error: { code: 'REDIS_UNAVAILABLE', message: `Redis is unreachable on ${down.join(', ')}`, details: { connections: r.connections } } };
}

// Replication as the Redis master reports it (INFO replication), and which node a connection talks to.
import type { Redis } from 'ioredis';

export interface RedisNodeView {
  readonly address: string;
  readonly offset: number;
  /** Bytes behind the master (replicas only). */
  readonly lagBytes?: number;
  readonly state?: string;
}

export interface ReplicationView {
  readonly master: RedisNodeView;
  readonly replicas: RedisNodeView[];
}

/**
 * The master and its replicas as the master itself reports them (INFO replication). The
 * master's address is the peer of the connection actually in use: through Sentinel the
 * client options name no host, and after a failover the promoted replica is the master.
 */
export async function readReplication(redis: Redis): Promise<ReplicationView> {
  const info = await redis.info('replication');
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const role = field('role') ?? 'unknown';
  const connected = peerAddress(redis);
  if (role === 'slave') {
    // Reached a replica (a demoted master not yet left, or a plain replica URL): report what it knows.
    const offset = Number(field('slave_repl_offset') ?? 0);
    return {
      master: { address: `${field('master_host') ?? '?'}:${field('master_port') ?? '?'}`, offset: 0, state: `link ${field('master_link_status') ?? 'unknown'}` },
      replicas: [{ address: connected, offset, state: 'replica (connected here)' }],
    };
  }
  const masterOffset = Number(field('master_repl_offset') ?? 0);
  const replicas: RedisNodeView[] = [];
  for (const m of info.matchAll(/^slave\d+:(.*)$/gm)) {
    const kv = Object.fromEntries((m[1] as string).split(',').map((p) => p.split('=') as [string, string]));
    // `offset` is what the replica has acknowledged (REPLCONF ACK, about every second or on WAIT).
    const offset = Number(kv.offset ?? 0);
    replicas.push({ address: `${kv.ip}:${kv.port}`, offset, lagBytes: Math.max(0, masterOffset - offset), state: `${kv.state ?? 'unknown'}, lag ${kv.lag ?? '?'}s` });
  }
  return { master: { address: connected, offset: masterOffset, state: role }, replicas };
}

/** host:port of the node a connection is talking to now, else what its options name. */
function peerAddress(redis: Redis): string {
  const stream = redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  if (stream?.remoteAddress !== undefined && stream.remotePort !== undefined) return `${stream.remoteAddress}:${stream.remotePort}`;
  const { sentinels, name, host, port } = redis.options;
  if (sentinels !== undefined && sentinels !== null && sentinels.length > 0) return `(not connected; sentinel master "${name ?? '?'}")`;
  return `${host ?? '127.0.0.1'}:${port ?? 6379}`;
}

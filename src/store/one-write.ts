// Commands sent together leave in one socket write.
import type { Redis } from 'ioredis';

/**
 * Runs `send`, which issues commands on `redis` synchronously, with the connection's socket
 * corked: the commands leave in one write (one syscall, one packet, one read on the Redis side)
 * instead of one write each. Order, replies and errors are ioredis's own; only the transport
 * changes. Commands ioredis queues while disconnected are not affected.
 */
export function inOneWrite<T>(redis: Redis, send: () => T): T {
  const socket = redis.status === 'ready' ? redis.stream : undefined;
  if (socket === undefined || socket.writableCorked > 0) return send();
  socket.cork();
  try {
    return send();
  } finally {
    socket.uncork();
  }
}

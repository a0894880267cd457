// Closing the Redis connection a BullMQ worker used, without letting BullMQ spin on it.
import type { Redis } from 'ioredis';

/**
 * Closes the connection the BullMQ worker used so that BullMQ cannot spin on it. While its worker
 * closes, BullMQ retries a command that failed with "Connection is closed." at once and without
 * end (Worker.retryIfFailed skips its delay then), and its close() can resolve while an entry's
 * completion is still pending (when its main loop ended on an error): a plain disconnect could
 * then spin this event loop for good, timers and all. A command sent after this fails with an
 * error BullMQ does not take for a lost connection, so it reports it and gives up; the entry's
 * lock lapses and it runs again elsewhere.
 */
export function closeBullmqConnection(redis: Redis): void {
  type Command = { reject(err: Error): void; promise: Promise<unknown> };
  (redis as unknown as { sendCommand: (command: Command) => Promise<unknown> }).sendCommand = (command) => {
    command.reject(new Error('this worker node has closed its queue connection'));
    return command.promise;
  };
  redis.disconnect();
}


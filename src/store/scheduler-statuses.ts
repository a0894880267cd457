// The schedulers' Raft statuses in Redis, as each publishes its own, so any API node can show the whole group.
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

export class SchedulerStatuses {
  readonly #redis: Redis;
  readonly #keys: Keys;

  constructor(redis: Redis, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Replaces scheduler `id`'s status (stored as JSON). */
  async publish(id: string, status: object): Promise<void> {
    await this.#redis.hset(this.#keys.schedulers, id, JSON.stringify(status));
  }

  /** Every scheduler's last published status, in no set order. */
  async all(): Promise<unknown[]> {
    return Object.values(await this.#redis.hgetall(this.#keys.schedulers)).map((raw) => JSON.parse(raw) as unknown);
  }
}

// Jobs in flight per principal (API token or client) in Redis: one sorted set each, admitted atomically, pruned lazily.
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { defineScripts, sendScript } from './scripts.js';

export interface Admission {
  readonly admitted: boolean;
  /** Reservations the principal holds after the call (including this one when admitted). */
  readonly inFlight: number;
}

/**
 * The reservations of each principal (see quota-admit.lua for when one is pruned). Errors are
 * ioredis's own, untyped: the API maps a Redis that cannot take them to 503.
 */
export class QuotaStore {
  readonly #redis: Redis;
  readonly #keys: Keys;

  constructor(redis: Redis, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
    defineScripts(redis);
  }

  /**
   * The key of a principal's reservations (principal ids are `tok-<hex>` or `client-<address>`),
   * which `JobStore.createJob` checks as `reservedIn`.
   */
  keyOf(principal: string): string {
    return this.#keys.quota(principal);
  }

  /**
   * Reserves a slot for `jobId` unless the principal holds `limit` already. The command is sent
   * before this returns, so it can leave in one write with a creation (`JobStore.together`).
   */
  async admit(principal: string, jobId: string, limits: { readonly limit: number; readonly graceMs: number }, now: number = Date.now()): Promise<Admission> {
    const [admitted, inFlight] = await sendScript<[number, number]>(this.#redis, 'quota-admit', [this.keyOf(principal)], [this.#keys.job(''), limits.limit, now, limits.graceMs, jobId]);
    return { admitted: admitted === 1, inFlight };
  }

  /** Gives a reservation back: always, or (`onlyIfMissing`) only when the job was never created. */
  async release(principal: string, jobId: string, onlyIfMissing: boolean): Promise<void> {
    await sendScript<number>(this.#redis, 'quota-release', [this.keyOf(principal), this.#keys.job(jobId)], [jobId, onlyIfMissing ? '1' : '0']);
  }

  /** Reservations held now (not pruned: may include jobs that have ended). */
  async reserved(principal: string): Promise<number> {
    return await this.#redis.zcard(this.keyOf(principal));
  }
}

// Jobs in flight per API token: a Redis sorted set of the token's active job ids, admitted atomically, pruned lazily.
import type { Redis } from 'ioredis';
import { RingpoolError } from '../errors.js';
import type { Keys } from '../store/keys.js';

export interface JobQuotaOptions {
  /** Jobs queued or running per principal (token, or client without tokens) before 429. @default 1000 */
  readonly maxJobsInFlight?: number;
  /** What `Retry-After` says on a 429, seconds. @default 5 */
  readonly retryAfterSec?: number;
  /**
   * How long a reservation may wait for its job record to appear (submission in progress), and
   * how long a reservation made for a retry counts even though its job still shows its old end, ms.
   * @default 60000
   */
  readonly reservationGraceMs?: number;
}

export const QUOTA_DEFAULTS = Object.freeze({ maxJobsInFlight: 1000, retryAfterSec: 5, reservationGraceMs: 60_000 });

/*
 * The set `<prefix>:quota:<principal>` holds job id → reservation time (ms). A job leaves it
 * lazily: pruning runs only when the set is full, so a principal under its limit pays one ZCARD
 * and one ZADD per submission. A member is pruned when its job
 *   - has ended (completed/failed/cancelled) after the reservation was made, or
 *   - is missing (expired, or its creation failed) and the reservation is older than the grace, or
 *   - has ended and the reservation is older than the grace (a retry whose re-queue never happened).
 * queued and running jobs are never pruned. Only this script adds members, and only below the
 * limit, so the set never holds more than the limit.
 *
 * The script reads job hashes by name (`keys.job(id)`) rather than through KEYS, as BullMQ's
 * scripts do: fine on a single master (with or without Sentinel), not on Redis Cluster.
 */
const ADMIT_LUA = `
-- KEYS[1] the principal's quota zset (job id -> reservation ms)
-- ARGV[1] job hash key prefix  ARGV[2] limit  ARGV[3] now (ms)  ARGV[4] grace (ms)  ARGV[5] job id
-- Returns {1, count} when admitted (count includes it), {0, count} when the principal is at its limit.
local key, jobPrefix, limit, now, grace, id = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
if redis.call('ZSCORE', key, id) then
  redis.call('ZADD', key, now, id)
  return {1, redis.call('ZCARD', key)}
end
local count = redis.call('ZCARD', key)
if count >= limit then
  local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local member, reserved = entries[i], tonumber(entries[i + 1])
    local job = redis.call('HMGET', jobPrefix .. member, 'status', 'finishedAt')
    local status, finished = job[1], tonumber(job[2])
    local old = now - reserved > grace
    local prune
    if status == 'queued' or status == 'running' then prune = false
    elseif not status then prune = old
    else prune = old or (finished ~= nil and finished >= reserved) end
    if prune then redis.call('ZREM', key, member) end
  end
  count = redis.call('ZCARD', key)
  if count >= limit then return {0, count} end
end
redis.call('ZADD', key, now, id)
return {1, count + 1}
`;

const RELEASE_LUA = `
-- KEYS[1] the principal's quota zset  KEYS[2] the job hash
-- ARGV[1] job id  ARGV[2] '1': only when the job hash does not exist
-- Returns 1 when the reservation was removed.
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
`;

type QuotaCommands = {
  rp_quota_admit(key: string, jobPrefix: string, limit: number, now: number, grace: number, id: string): Promise<[number, number]>;
  rp_quota_release(key: string, jobKey: string, id: string, onlyIfMissing: '0' | '1'): Promise<number>;
};

/** Per-principal count of jobs in flight; `admit` throws RATE_LIMITED (429 with Retry-After) at the limit. */
export class JobQuota {
  readonly #redis: Redis & QuotaCommands;
  readonly #keys: Keys;
  readonly #options: Readonly<Required<JobQuotaOptions>>;

  constructor(redis: Redis, keys: Keys, options: JobQuotaOptions = {}) {
    const opts = { ...QUOTA_DEFAULTS, ...options };
    if (!Number.isInteger(opts.maxJobsInFlight) || opts.maxJobsInFlight < 1) throw new RingpoolError('CONFIG', `maxJobsInFlight must be an integer >= 1, got ${opts.maxJobsInFlight}`);
    if (!Number.isFinite(opts.retryAfterSec) || opts.retryAfterSec < 1) throw new RingpoolError('CONFIG', `retryAfterSec must be a number >= 1, got ${opts.retryAfterSec}`);
    if (!Number.isInteger(opts.reservationGraceMs) || opts.reservationGraceMs < 0) throw new RingpoolError('CONFIG', `reservationGraceMs must be an integer >= 0, got ${opts.reservationGraceMs}`);
    // defineCommand is idempotent per connection: EVALSHA, falling back to EVAL after a Redis restart.
    redis.defineCommand('rp_quota_admit', { numberOfKeys: 1, lua: ADMIT_LUA });
    redis.defineCommand('rp_quota_release', { numberOfKeys: 2, lua: RELEASE_LUA });
    this.#redis = redis as Redis & QuotaCommands;
    this.#keys = keys;
    this.#options = Object.freeze(opts);
  }

  get maxJobsInFlight(): number {
    return this.#options.maxJobsInFlight;
  }

  /** The Redis key of a principal's reservations (principal ids are `tok-<hex>` or `client-<address>`). */
  keyOf(principal: string): string {
    return `${this.#keys.prefix}:quota:${principal}`;
  }

  /** Reserves a slot for `jobId` (call before the job is created); at the limit throws RATE_LIMITED. */
  async admit(principal: string, jobId: string, now: number = Date.now()): Promise<void> {
    const o = this.#options;
    const [admitted, count] = await this.#redis.rp_quota_admit(this.keyOf(principal), this.#keys.job(''), o.maxJobsInFlight, now, o.reservationGraceMs, jobId);
    if (admitted !== 1) {
      throw new RingpoolError(
        'RATE_LIMITED',
        `this token already has ${count} jobs queued or running, the limit (maxJobsInFlight) is ${o.maxJobsInFlight}; wait for some to end, or cancel some, then try again`,
        { details: { inFlight: count, limit: o.maxJobsInFlight, retryAfterSec: o.retryAfterSec } },
      );
    }
  }

  /** Gives a reservation back: always, or (`onlyIfMissing`) only when the job was never created. */
  async release(principal: string, jobId: string, options: { onlyIfMissing?: boolean } = {}): Promise<void> {
    await this.#redis.rp_quota_release(this.keyOf(principal), this.#keys.job(jobId), jobId, options.onlyIfMissing ? '1' : '0');
  }

  /** Reservations currently held (not pruned: may include jobs that have ended). */
  async reserved(principal: string): Promise<number> {
    return await this.#redis.zcard(this.keyOf(principal));
  }
}

// Jobs in flight per API token and per tenant: the limits, and the 429 a submission past one gets (the reservations live in src/store/quota-store.ts).
import { RingpoolError } from '../errors.js';
import type { QuotaStore } from '../store/quota-store.js';

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

/** Per-principal count of jobs in flight; `admit` throws RATE_LIMITED (429 with Retry-After) at the limit. */
export class JobQuota {
  readonly #quotas: QuotaStore;
  readonly #options: Readonly<Required<JobQuotaOptions>>;

  /** `quotas`: on the connection jobs are created on (`JobStore.quotas`), so an admission and its creation leave in one write. */
  constructor(quotas: QuotaStore, options: JobQuotaOptions = {}) {
    const opts = { ...QUOTA_DEFAULTS, ...options };
    if (!Number.isInteger(opts.maxJobsInFlight) || opts.maxJobsInFlight < 1) throw new RingpoolError('CONFIG', `maxJobsInFlight must be an integer >= 1, got ${opts.maxJobsInFlight}`);
    if (!Number.isFinite(opts.retryAfterSec) || opts.retryAfterSec < 1) throw new RingpoolError('CONFIG', `retryAfterSec must be a number >= 1, got ${opts.retryAfterSec}`);
    if (!Number.isInteger(opts.reservationGraceMs) || opts.reservationGraceMs < 0) throw new RingpoolError('CONFIG', `reservationGraceMs must be an integer >= 0, got ${opts.reservationGraceMs}`);
    this.#quotas = quotas;
    this.#options = Object.freeze(opts);
  }

  get maxJobsInFlight(): number {
    return this.#options.maxJobsInFlight;
  }

  /** The Redis key of a principal's reservations, for `JobStore.createJob`'s `reservedIn`. */
  keyOf(principal: string): string {
    return this.#quotas.keyOf(principal);
  }

  /**
   * Reserves a slot for `jobId` (call before the job is created); at the limit throws RATE_LIMITED.
   * The reservation is sent before this returns (see `QuotaStore.admit`).
   */
  async admit(principal: string, jobId: string, now: number = Date.now()): Promise<void> {
    const o = this.#options;
    const { admitted, inFlight } = await this.#quotas.admit(principal, jobId, { limit: o.maxJobsInFlight, graceMs: o.reservationGraceMs }, now);
    if (!admitted) {
      throw new RingpoolError(
        'RATE_LIMITED',
        `this token already has ${inFlight} jobs queued or running, the limit (maxJobsInFlight) is ${o.maxJobsInFlight}; wait for some to end, or cancel some, then try again`,
        { details: { inFlight, limit: o.maxJobsInFlight, retryAfterSec: o.retryAfterSec } },
      );
    }
  }

  /** Gives a reservation back: always, or (`onlyIfMissing`) only when the job was never created. */
  async release(principal: string, jobId: string, options: { onlyIfMissing?: boolean } = {}): Promise<void> {
    await this.#quotas.release(principal, jobId, options.onlyIfMissing ?? false);
  }

  /**
   * The tenant's reservations are a second key of the same mechanism (docs/tenants.md): one set
   * per tenant, named apart from every principal's (`tenant-<name>`; principals are `tok-…` or `client-…`).
   */
  tenantKeyOf(tenant: string): string {
    return this.#quotas.keyOf(tenantPrincipal(tenant));
  }

  /** Reserves a slot for `jobId` in the tenant's jobs in flight (its `maxJobsInFlight` from the config); at `limit` throws RATE_LIMITED. */
  async admitTenant(tenant: string, jobId: string, limit: number, now: number = Date.now()): Promise<void> {
    const o = this.#options;
    const { admitted, inFlight } = await this.#quotas.admit(tenantPrincipal(tenant), jobId, { limit, graceMs: o.reservationGraceMs }, now);
    if (!admitted) {
      throw new RingpoolError(
        'RATE_LIMITED',
        `tenant ${tenant} already has ${inFlight} jobs queued or running, its limit (tenants.${tenant}.maxJobsInFlight) is ${limit}; wait for some to end, or cancel some, then try again`,
        { details: { inFlight, limit, tenant, retryAfterSec: o.retryAfterSec } },
      );
    }
  }

  /** Gives a tenant's reservation back, as `release` does a principal's. */
  async releaseTenant(tenant: string, jobId: string, options: { onlyIfMissing?: boolean } = {}): Promise<void> {
    await this.#quotas.release(tenantPrincipal(tenant), jobId, options.onlyIfMissing ?? false);
  }

  /** Reservations currently held (not pruned: may include jobs that have ended). */
  async reserved(principal: string): Promise<number> {
    return await this.#quotas.reserved(principal);
  }
}

/** The quota principal of a tenant as a whole. */
function tenantPrincipal(tenant: string): string {
  return `tenant-${tenant}`;
}

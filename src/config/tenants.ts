// Tenants (docs/tenants.md): their names, their settings in the config file, and the policy lookup the API and the fair-share scheduler read.
import { z } from 'zod';
import { RingpoolError } from '../errors.js';
import { JobCallbackSchema } from '../sdk/job-options.js';
import type { JobCallback } from '../sdk/index.js';

/** The tenant of a token without `@tenant`, of every request to a server without tokens, and of jobs stored before tenants existed. */
export const DEFAULT_TENANT = 'default';

/** Lower-case letters, digits and dashes, starting with a letter or digit, at most 63 characters. */
export const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const TenantNameSchema = z.string().regex(TENANT_NAME, 'a tenant name is 1-63 lower-case letters, digits and dashes, starting with a letter or digit');

/** One tenant's settings under `tenants` in the config file. */
export const TenantSettingsSchema = z
  .object({
    /** Share of the pool against other tenants (read by the fair-share scheduler). @default 1 */
    weight: z.number().positive().max(1000).default(1),
    /** Jobs queued or running for the whole tenant before 429 (on top of each token's own limit). */
    maxJobsInFlight: z.number().int().min(1).optional(),
    /** Worker threads the tenant's tasks may hold at once (read by the fair-share scheduler). */
    maxThreadsInUse: z.number().int().min(1).optional(),
    /** Webhooks every job of the tenant sends, besides its own `callback` option (docs/webhooks.md). */
    webhooks: z.array(JobCallbackSchema).max(10).default([]),
  })
  .strict();

/** `tenants` in the config file: name → settings; empty: every tenant a token names exists implicitly, with the defaults. */
export const TenantsSchema = z.record(TenantNameSchema, TenantSettingsSchema).default({});

export type TenantsConfig = z.output<typeof TenantsSchema>;

/** What the rest of ringpool knows of a tenant. The shape is shared with the fair-share scheduler: keep it. */
export interface TenantPolicy {
  readonly weight: number;
  readonly maxJobsInFlight?: number;
  readonly maxThreadsInUse?: number;
  readonly webhooks: readonly JobCallback[];
}

const IMPLICIT: TenantPolicy = Object.freeze({ weight: 1, webhooks: Object.freeze([]) as readonly JobCallback[] });

/**
 * The tenants of one configuration. `tenantPolicy` answers for any name: a tenant the config does
 * not list (possible only when `tenants` is empty) has weight 1, no limits and no webhooks.
 */
export class TenantPolicies {
  readonly #policies: ReadonlyMap<string, TenantPolicy>;

  constructor(tenants: TenantsConfig = {}) {
    const parsed = TenantsSchema.safeParse(tenants);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RingpoolError('CONFIG', `tenants${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'not valid'}`);
    }
    this.#policies = new Map(Object.entries(parsed.data).map(([name, t]) => [name, Object.freeze({ ...t, webhooks: Object.freeze([...t.webhooks]) })]));
  }

  /** Whether the config lists tenants at all (then a token may only name one of them). */
  get explicit(): boolean {
    return this.#policies.size > 0;
  }

  /** The tenants the config lists. */
  get names(): string[] {
    return [...this.#policies.keys()];
  }

  /** Whether a token may name this tenant: any valid name when the config lists none, else a listed one. */
  admits(name: string): boolean {
    return this.explicit ? this.#policies.has(name) : TENANT_NAME.test(name);
  }

  tenantPolicy(name: string): TenantPolicy {
    return this.#policies.get(name) ?? IMPLICIT;
  }
}

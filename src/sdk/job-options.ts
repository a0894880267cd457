// The per-job options: their schema, defaults, and how module defaults and a submission combine.
import { z } from 'zod';
import type { JobCallback, JobOptions, WebhookEvent } from './index.js';

/**
 * Every option resolved: what is stored with a job so that every node runs it alike. A callback
 * has no default: absent, the job sends no webhook (or the node's `--webhook-url`, set at submit).
 */
export type ResolvedJobOptions = { readonly [K in Exclude<keyof JobOptions, 'callback' | SharingOption>]-?: NonNullable<JobOptions[K]> } & { readonly callback?: JobCallback } & Pick<JobOptions, SharingOption>;

/**
 * Options of fair share and tolerated failures (docs/tenants.md): resolved with their defaults like
 * the rest, but optional in the type, so records built before they existed still type-check; read
 * them through `jobPriority` and `failureAllowance`.
 */
type SharingOption = 'priority' | 'maxFailedTasks' | 'maxFailedRatio';

/** A job's priority (1–10), 5 when not given. */
export function jobPriority(options: Pick<JobOptions, 'priority'>): number {
  return options.priority ?? 5;
}

/** Whether the job tolerates failed tasks at all (either limit given). */
export function toleratesFailures(options: Pick<JobOptions, 'maxFailedTasks' | 'maxFailedRatio'>): boolean {
  return options.maxFailedTasks !== undefined || options.maxFailedRatio !== undefined;
}

/** How many of `total` tasks may fail for good while the job still completes (partial): within every limit given, 0 with none. */
export function failureAllowance(options: Pick<JobOptions, 'maxFailedTasks' | 'maxFailedRatio'>, total: number): number {
  if (!toleratesFailures(options)) return 0;
  return Math.min(options.maxFailedTasks ?? Infinity, Math.floor((options.maxFailedRatio ?? 1) * total));
}

export const WEBHOOK_EVENTS: readonly WebhookEvent[] = Object.freeze(['completed', 'failed', 'cancelled']);

export const JobCallbackSchema = z
  .object({
    url: z
      .string()
      .max(2048)
      .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL')
      .describe('where the POST goes (docs/webhooks.md); private addresses are refused unless the node allows them (--webhook-allow)'),
    events: z.array(z.enum(['completed', 'failed', 'cancelled'])).min(1).max(3).optional().describe('the ends that are sent; default all three'),
    secret: z.string().min(16).max(256).optional().describe("signs each delivery (Ringpool-Signature); default the node's --webhook-secret"),
  })
  .strict()
  .meta({ id: 'JobCallback' });

export const JOB_OPTION_DEFAULTS: ResolvedJobOptions = Object.freeze({
  retries: 2,
  taskTimeoutMs: 60_000,
  taskMemoryMb: 512,
  batchSize: 0,
  resultTtlSec: 86_400,
  priority: 5,
});

export const JobOptionsSchema = z
  .object({
    retries: z.number().int().min(0).max(100).describe('extra attempts for a failing task'),
    taskTimeoutMs: z.number().int().min(10).max(86_400_000).describe('hard time limit of one task, ms'),
    taskMemoryMb: z.number().int().min(16).max(65_536).describe('heap limit of a task thread, MB'),
    batchSize: z.number().int().min(0).max(10_000).describe('tasks per queue entry; 0 = automatic'),
    resultTtlSec: z.number().int().min(1).max(31_536_000).describe('seconds the result is kept'),
    callback: JobCallbackSchema.describe('a webhook POST when the job ends (docs/webhooks.md)'),
    priority: z.number().int().min(1).max(10).describe("the job's share of the pool against other jobs, 1-10, times its tenant's weight (docs/tenants.md)"),
    maxFailedTasks: z.number().int().min(0).max(10_000_000).describe('tasks that may fail for good while the job still completes, partial (docs/tenants.md)'),
    maxFailedRatio: z.number().min(0).max(1).describe('fraction of the tasks that may fail for good while the job still completes, partial'),
  })
  .partial()
  .strict();

/** Submission options over module defaults over ringpool's defaults. */
export function resolveJobOptions(moduleDefaults: JobOptions | undefined, submitted: JobOptions | undefined): ResolvedJobOptions {
  const merged = { ...JOB_OPTION_DEFAULTS, ...stripUndefined(moduleDefaults), ...stripUndefined(submitted) };
  return Object.freeze(merged);
}

/**
 * The options stored with a job, read back with ringpool's defaults under them: a job stored
 * before an option existed reads back with that option's default, as every node must run it alike.
 */
export function storedJobOptions(stored: JobOptions): ResolvedJobOptions {
  return resolveJobOptions(undefined, stored);
}

function stripUndefined(o: JobOptions | undefined): Partial<ResolvedJobOptions> {
  if (o === undefined) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<ResolvedJobOptions>;
}

// The client's types: the API's shapes (from src/api/wire.ts, types only) and the job types a typed client knows, from the job modules.
import type { z } from 'zod';
import type {
  CancelAnswerSchema,
  ActivateAnswerSchema,
  ClusterViewSchema,
  DeleteVersionAnswerSchema,
  DeployAnswerSchema,
  DrainAnswerSchema,
  EndEventSchema,
  JobDetailSchema,
  JobLogsSchema,
  JobEndedSchema,
  JobPageSchema,
  JobSchema,
  JobStatusSchema,
  JobTypeInfoSchema,
  JobTypeVersionsSchema,
  ProgressEventSchema,
  RetryAnswerSchema,
  DeleteScheduleAnswerSchema,
  ScheduleBodySchema,
  ScheduleSchema,
} from '../api/wire.js';
import type { AnyJob, JobOptions } from '../sdk/index.js';
import type { JobHandle } from './job-handle.js';

export type JobStatus = z.infer<typeof JobStatusSchema>;
/** A job as `GET /v1/jobs` lists it. */
export type Job = z.infer<typeof JobSchema>;
/** A job as `GET /v1/jobs/:id` shows it, with its failed tasks' errors. */
export type JobDetail = z.infer<typeof JobDetailSchema>;
export type JobLogs = z.infer<typeof JobLogsSchema>;
export type JobPage = z.infer<typeof JobPageSchema>;
export type JobTypeInfo = z.infer<typeof JobTypeInfoSchema>;
export type ClusterView = z.infer<typeof ClusterViewSchema>;
export type CancelAnswer = z.infer<typeof CancelAnswerSchema>;
export type RetryAnswer = z.infer<typeof RetryAnswerSchema>;
export type DrainAnswer = z.infer<typeof DrainAnswerSchema>;
export type DeployAnswer = z.infer<typeof DeployAnswerSchema>;
export type JobTypeVersions = z.infer<typeof JobTypeVersionsSchema>;
export type ActivateAnswer = z.infer<typeof ActivateAnswerSchema>;
export type DeleteVersionAnswer = z.infer<typeof DeleteVersionAnswerSchema>;
/** A schedule as `GET /v1/schedules` shows it, with its next runs and the jobs its last ticks started. */
export type Schedule = z.infer<typeof ScheduleSchema>;
/** What `client.schedules.create` takes (`POST /v1/schedules`); `timezone` defaults to UTC, `missed` to skip. */
/** `POST /v1/schedules` body; its options typed as a submission's (`JobOptions`). */
export type NewSchedule = Omit<z.input<typeof ScheduleBodySchema>, 'options'> & { readonly options?: JobOptions | undefined };
export type DeleteScheduleAnswer = z.infer<typeof DeleteScheduleAnswerSchema>;
type JobEnded = z.infer<typeof JobEndedSchema>;

/** What `JobHandle.events()` yields: the job's state when it changes, then its end (after which the iteration stops). */
export type JobEvent =
  | { readonly event: 'progress'; readonly data: z.infer<typeof ProgressEventSchema> }
  | { readonly event: 'end'; readonly data: z.infer<typeof EndEventSchema> };

/** `client.jobs.list` / `page` filters (`GET /v1/jobs`); `limit` is the page size (1–500, default 20). */
export interface ListQuery<Name extends string = string> {
  readonly status?: JobStatus | undefined;
  readonly job?: Name | undefined;
  /** A job id prefix, or words of the input. */
  readonly q?: string | undefined;
  readonly limit?: number | undefined;
  /** Only this tenant's jobs: an admin token's filter (another token sees its own tenant's only). */
  readonly tenant?: string | undefined;
}

/** The job types a typed client knows: job name → job module (`typeof import('./jobs/primes.js').default`). */
export type JobMap = { readonly [name: string]: AnyJob };

/**
 * The `JobMap` of a list of job modules, keyed by their names:
 * `createClient<JobTypes<[typeof primes, typeof wordcount]>>({ url })`. The names are the literal
 * types `defineJob` infers.
 */
export type JobTypes<Modules extends readonly AnyJob[]> = { readonly [J in Modules[number] as J['name']]: J };

declare const untyped: unique symbol;
/** The job types of a client created without a type argument: any name, `unknown` input and result. */
export interface UntypedJobs {
  readonly [untyped]: true;
}

/** The names a client accepts. */
export type JobName<Jobs> = Jobs extends UntypedJobs ? string : Extract<keyof Jobs, string>;

/** What `submit` takes for job type `N`: the input type of its module's zod schema (`z.input`: defaults optional). */
export type JobInput<Jobs, N> = Jobs extends UntypedJobs
  ? unknown
  : N extends keyof Jobs
    ? Jobs[N] extends { readonly input: infer S extends z.ZodType }
      ? z.input<S>
      : never
    : never;

/** What `result()` gives for job type `N`: what its `reduce` returns, as JSON brings it; an image's bytes as a Uint8Array. */
export type JobResult<Jobs, N> = Jobs extends UntypedJobs
  ? unknown
  : N extends keyof Jobs
    ? Jobs[N] extends { reduce(...args: never[]): infer R }
      ? Awaited<R> extends Uint8Array
        ? Uint8Array
        : Awaited<R>
      : unknown
    : unknown;

/** `submitAndWait`'s answer: how the job stood at the end of the wait. */
export interface WaitedJob<Result> {
  readonly id: string;
  /** The job, to ask for its status, result or events later. */
  readonly handle: JobHandle<Result>;
  /** True when the job ended within the wait (`status` is then completed, failed or cancelled). */
  readonly ended: boolean;
  readonly status: JobStatus;
  /** A completed JSON job's result (an image is not inlined: `handle.result()` fetches it). */
  readonly result?: Result;
  /** A failed job's error. */
  readonly error?: JobEnded['error'];
  readonly links: JobEnded['links'];
}

// What the HTTP API sends and receives, as zod schemas: the routes validate and document with them
// (the OpenAPI document is generated from them), and the typed client (src/client) takes its types
// from them. Only zod is imported here, so the client can use the types without the server.
import { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import { JobOptionsSchema } from '../sdk/job-options.js';

export const ERROR_CODES = [
  'BAD_INPUT', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'UNKNOWN_JOB_TYPE', 'NOT_FOUND',
  'NOT_FINISHED', 'CONFLICT', 'IDEMPOTENCY_MISMATCH', 'UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED', 'TASK_FAILED', 'TIMEOUT', 'OUT_OF_MEMORY',
  'CANCELLED', 'TOO_MANY_TASKS', 'RESULT_TOO_LARGE', 'STALE_TERM', 'NOT_LEADER', 'NOT_REPLICATED', 'REDIS_UNAVAILABLE',
  'CONFIG', 'BLOB_NOT_FOUND', 'INTERNAL',
] as const;

// errors.ts holds the codes; a code added there and not here (or the reverse) fails the typecheck.
const codesMatch: [ErrorCode] extends [(typeof ERROR_CODES)[number]] ? ([(typeof ERROR_CODES)[number]] extends [ErrorCode] ? true : false) : false = true;
void codesMatch;

export const ErrorCodeSchema = z.enum(ERROR_CODES).meta({ id: 'ErrorCode' });

/** Every 4xx and 5xx answer: a stable code, a message that says what to fix, sometimes details. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    details: z.unknown().optional(),
  }),
}).meta({ id: 'ErrorBody' });

export const JOB_STATUS_VALUES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export const JobStatusSchema = z.enum(JOB_STATUS_VALUES).meta({ id: 'JobStatus' });

export const JobLinksSchema = z.object({
  self: z.string(),
  result: z.string(),
  events: z.string(),
}).meta({ id: 'JobLinks' });

export const JobProgressSchema = z.object({
  total: z.number().int().nullable().describe('number of tasks, known once the split has ended'),
  placed: z.number().int().describe('tasks enqueued so far'),
  done: z.number().int(),
  failed: z.number().int(),
  duplicates: z.number().int().describe('results dropped because one was already stored (first write wins)'),
  dropped: z.number().int().describe('results that arrived after the job had ended'),
}).meta({ id: 'JobProgress' });

/**
 * A task's or a job's error as stored: the code, the message, sometimes the stack and the task.
 * Not a component of the OpenAPI document (no `id`): it is used `.nullable()`, and the generator
 * writes a nullable reference as one that refuses null (api-schema-walk.test.ts would fail).
 */
export const JobErrorSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  details: z.unknown().optional(),
  stack: z.string().optional(),
  taskIndex: z.number().int().optional(),
});

export const JobTimingSchema = z.object({
  splitDoneAt: z.number().nullable(),
  lastResultAt: z.number().nullable(),
  runMicros: z.number().describe('run time of all tasks added up, µs'),
  reducedOn: z.string().nullable().describe("'scheduler', or the worker node that ran and reduced a one-entry job"),
}).meta({ id: 'JobTiming' });

/** Every option resolved: what a job was run with. */
export const ResolvedJobOptionsSchema = JobOptionsSchema.required().extend({ callback: JobOptionsSchema.shape.callback, maxFailedTasks: JobOptionsSchema.shape.maxFailedTasks, maxFailedRatio: JobOptionsSchema.shape.maxFailedRatio });

export const ResultTypeSchema = z.enum(['json', 'image/png']);

/** One try at a webhook delivery: when, what the receiver answered (or why none), how long it took. */
export const WebhookAttemptSchema = z.object({
  at: z.number().describe('ms since the epoch'),
  status: z.number().int().nullable().describe("the receiver's HTTP status; null when none came"),
  error: z.string().nullable().describe('why the attempt failed without a status, or was refused (SSRF guard)'),
  latencyMs: z.number(),
}).meta({ id: 'WebhookAttempt' });

/** The delivery log of a job's webhook (docs/webhooks.md). */
export const WebhookDeliverySchema = z.object({
  deliveryId: z.string().describe('the Ringpool-Delivery header: the same on every retry, for dedup'),
  event: z.enum(['completed', 'failed', 'cancelled']),
  state: z.enum(['pending', 'delivered', 'gave_up', 'refused']),
  attempts: z.array(WebhookAttemptSchema),
  nextAttemptAt: z.number().nullable().describe('when a pending delivery is tried next, ms since the epoch'),
}).meta({ id: 'WebhookDelivery' });

/** A job as `GET /v1/jobs` and `GET /v1/jobs/:id` show it. */
export const JobSchema = z.object({
  id: z.string(),
  job: z.string().describe('the job type'),
  status: JobStatusSchema,
  input: z.unknown(),
  options: ResolvedJobOptionsSchema,
  resultType: ResultTypeSchema,
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  progress: JobProgressSchema,
  error: JobErrorSchema.nullable(),
  timing: JobTimingSchema,
  tasksPerNode: z.record(z.string(), z.number().int()).describe('stored results per worker node'),
  cachePerNode: z
    .record(z.string(), z.object({ hits: z.number().int(), misses: z.number().int(), bytes: z.number().int().describe("the node's cache size at its last count, bytes") }))
    .describe("the job's asks of each worker node's cache (ctx.cache): hits, misses and the cache's size"),
  retriedTasks: z.number().int(),
  stragglers: z
    .object({
      stolenTasks: z.number().int().describe('tasks moved off a slow or backed-up node to one with a free thread (work stealing)'),
      speculatedTasks: z.number().int().describe('backup copies run of the last tasks (speculative execution)'),
      wastedMs: z.number().int().describe('time spent on copies whose result lost to another (first write wins)'),
    })
    .describe('what was done so that a slow node does not hold the job back'),
  reruns: z.number().int().describe('how many times the job was retried after it failed'),
  version: z.number().int().nullable().describe('the deployed version of the job type it runs (null: a module from a folder)'),
  scheduleId: z.string().nullable().describe('the schedule whose tick started it (null: submitted)'),
  scheduledFor: z.number().nullable().describe('the tick of that schedule it runs for, ms since the epoch (null: submitted)'),
  tenant: z.string().describe('the tenant the job belongs to: that of the token that submitted it (docs/tenants.md)'),
  traceId: z.string().nullable().describe("the OpenTelemetry trace id of the job's spans (null: submitted while tracing was off, see --otlp-endpoint)"),
  partial: z.boolean().describe('completed although some tasks failed, within options.maxFailedTasks/maxFailedRatio: see taskErrors'),
  links: JobLinksSchema,
}).meta({ id: 'Job' });

/** `GET /v1/jobs/:id`: the job, and for a failed or partial job the errors of its failed tasks. */
export const JobDetailSchema = JobSchema.extend({
  taskErrors: z.array(JobErrorSchema.extend({ taskIndex: z.number().int(), tolerated: z.boolean().optional().describe('a failure within maxFailedTasks/maxFailedRatio: the job went on') })),
  webhook: WebhookDeliverySchema.nullable().optional().describe("the delivery log of the job's webhook for its last end; null: none"),
  waitingFor: z.enum(['capacity']).nullable().optional().describe('capacity: the job is queued or running and no worker node is alive; with autoscaling one is being started (docs/operations.md "Autoscaling")'),
}).meta({ id: 'JobDetail' });

/** `POST /v1/jobs` body. `input` is checked against the job type's own schema (see GET /v1/job-types). */
export const SubmitBodySchema = z
  .object({
    job: z.string().min(1).max(100).describe('job type name, see GET /v1/job-types'),
    input: z.unknown(),
    options: JobOptionsSchema.optional(),
  })
  .strict();

/** `POST /v1/jobs` answered 202: the job is queued (or, with `?wait=MS`, still running at the end of the wait). */
export const JobAcceptedSchema = z.object({
  id: z.string(),
  status: JobStatusSchema,
  links: JobLinksSchema,
}).meta({ id: 'JobAccepted' });

/** `POST /v1/jobs?wait=MS` answered 200: the job ended within the wait. */
export const JobEndedSchema = z.object({
  id: z.string(),
  status: JobStatusSchema,
  result: z.unknown().optional().describe('a JSON result; an image is at links.result'),
  error: JobErrorSchema.optional(),
  links: JobLinksSchema,
}).meta({ id: 'JobEnded' });

/** `GET /v1/jobs` query. */
export const ListJobsQuerySchema = z
  .object({
    status: JobStatusSchema.optional(),
    job: z.string().max(100).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(20),
    cursor: z.coerce.number().int().min(0).optional(),
    q: z.string().trim().min(1).max(200).optional().describe('a job id prefix, or words of the input'),
    tenant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a tenant name: 1-63 lower-case letters, digits and dashes').optional().describe("only this tenant's jobs; a token without admin sees its own tenant's jobs only, and may name no other"),
  })
  .strict();

/** `GET /v1/jobs`: a page of jobs, newest first; `next` is the cursor of the next page (null: none). */
export const JobPageSchema = z.object({
  jobs: z.array(JobSchema),
  next: z.number().int().nullable(),
}).meta({ id: 'JobPage' });

/** `GET /v1/jobs/:id/result` of a JSON job. */
export const JobResultSchema = z.object({
  id: z.string(),
  result: z.unknown(),
}).meta({ id: 'JobResult' });

export const CancelAnswerSchema = z.object({ id: z.string(), status: JobStatusSchema });
export const RetryAnswerSchema = z.object({ id: z.string(), status: z.literal('queued') });

/** `GET /v1/jobs/:id/logs`'s query. */
export const JobLogsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(200).describe('the newest this many lines'),
    task: z.coerce.number().int().min(0).optional().describe("only this task's lines (no split or reduce line)"),
  })
  .strict();

/** `GET /v1/jobs/:id/logs`: what the job's split, tasks and reduce wrote with `log`, oldest first. */
export const JobLogsSchema = z
  .object({
    id: z.string(),
    lines: z.array(
      z.object({
        at: z.number().describe("epoch ms, by the clock of the node that wrote it"),
        task: z.number().int().nullable().describe('the task that wrote it; null for the split\'s and the reduce\'s lines'),
        phase: z.enum(['split', 'task', 'reduce']).describe('what wrote it: the split (`ctx.log` in split), a task, or the reduce (`info.log`)'),
        attempt: z.number().int().describe('the attempt of the task\'s queue entry, 0 first (0 for split and reduce)'),
        node: z.string().describe('the worker node that ran the task, or the scheduler that split or reduced'),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'JobLogs' });
export const DrainAnswerSchema = z.object({ id: z.string(), draining: z.literal(true) });

export const JobTypeInfoSchema = z.object({
  name: z.string(),
  description: z.string(),
  resultType: ResultTypeSchema,
  inputSchema: z.unknown().describe("the JSON Schema of the job type's input"),
  source: z.enum(['folder', 'deployed']).describe('a module from a --jobs folder, or deployed at runtime (POST /v1/job-types)'),
  version: z.number().int().nullable().describe('the active deployed version (null: from a folder)'),
  digest: z.string().nullable().describe("SHA-256 of the deployed version's bundle (null: from a folder)"),
}).meta({ id: 'JobTypeInfo' });

export const JobTypesSchema = z.object({ jobTypes: z.array(JobTypeInfoSchema) }).meta({ id: 'JobTypes' });

/** `POST /v1/job-types` (admin): a job module to deploy; `ringpool deploy FILE` bundles its relative imports first. */
export const DeployBodySchema = z
  .object({
    source: z.string().min(1).describe('the module: TypeScript or JavaScript, its imports of zod and ringpool/sdk left as they are'),
    filename: z.string().regex(/^[A-Za-z0-9_.-]{1,100}\.(ts|mts|js|mjs)$/).default('module.ts').describe('its file name, for messages and the loader'),
  })
  .strict();

/** `POST /v1/job-types` answered 201 (a new version, now active) or 200 (the active version had this code already). */
export const DeployAnswerSchema = z.object({
  name: z.string(),
  version: z.number().int(),
  created: z.boolean(),
  digest: z.string().nullable(),
  inputSchema: z.unknown(),
});

export const JobTypeVersionSchema = z.object({
  version: z.number().int(),
  digest: z.string(),
  bytes: z.number().int(),
  deployedAt: z.number(),
  deployedBy: z.string(),
  description: z.string(),
  resultType: z.string(),
  active: z.boolean(),
});

/** `GET /v1/job-types/:name/versions`: every stored version, oldest first. */
export const JobTypeVersionsSchema = z.object({
  name: z.string(),
  active: z.number().int().nullable(),
  versions: z.array(JobTypeVersionSchema),
});

export const ActivateAnswerSchema = z.object({ name: z.string(), active: z.number().int(), before: z.number().int().nullable() });
export const DeleteVersionAnswerSchema = z.object({ name: z.string(), version: z.number().int(), deleted: z.literal(true) });

/** `progress` events of `GET /v1/jobs/:id/events`. */
export const ProgressEventSchema = z.object({
  id: z.string(),
  status: JobStatusSchema,
  progress: JobProgressSchema,
  error: JobErrorSchema.nullable(),
}).meta({ id: 'ProgressEvent' });

/** The `end` event of `GET /v1/jobs/:id/events` (`expired` when the record went while followed). */
export const EndEventSchema = z.object({
  id: z.string(),
  status: z.union([JobStatusSchema, z.literal('expired')]),
}).meta({ id: 'EndEvent' });

export const ConnectionStateSchema = z.object({
  name: z.string(),
  status: z.string(),
  healthy: z.boolean(),
  unhealthyForMs: z.number(),
}).meta({ id: 'ConnectionState' });

export const HealthSchema = z.object({ status: z.literal('ok') });
export const ReadySchema = z.object({ status: z.literal('ready'), connections: z.array(ConnectionStateSchema).optional() });

const RedisNodeViewSchema = z.object({
  address: z.string(),
  offset: z.number(),
  lagBytes: z.number().optional(),
  state: z.string().optional(),
});

/** `GET /v1/cluster`: the schedulers, workers and Redis nodes as the answering process sees them. */
/** The backlog signal in `GET /v1/cluster` (docs/operations.md "Autoscaling"). */
export const AutoscaleViewSchema = z.object({
  current: z.number().int().describe('worker nodes alive'),
  desired: z.number().int().describe('worker nodes that would drain the backlog within targetDrainMs (ringpool_desired_worker_nodes)'),
  reason: z.enum(['idle', 'backlog', 'running', 'waiting-for-capacity', 'at-max', 'at-min']),
  backlogTasks: z.number().int().describe('tasks not placed yet plus tasks queued on the nodes'),
  backlogWorkMs: z.number().describe('their work at the observed task time, ms of one thread'),
  unplacedTasks: z.number().int(),
  queuedTasks: z.record(z.string(), z.number().int()).describe('tasks queued (waiting or running) per worker node'),
  busyThreads: z.number().int(),
  taskMicros: z.number().nullable().describe('observed mean task time, µs; null before any is measured'),
  targetDrainMs: z.number().int(),
  sampledAt: z.number().int().describe('when the leader began the sample these figures come from, ms since the epoch: a local autoscaler drains no node started after it'),
}).meta({ id: 'AutoscaleView' });

export const ClusterViewSchema = z.object({
  leaderId: z.string().nullable(),
  term: z.number().int(),
  schedulers: z.array(
    z.object({
      id: z.string(),
      role: z.enum(['leader', 'follower', 'candidate', 'pre-candidate', 'unknown']),
      term: z.number().int(),
      commitIndex: z.number().int(),
      lastContactMs: z.number().nullable(),
      url: z.string().nullable(),
    }),
  ),
  workers: z.array(
    z.object({
      id: z.string(),
      threads: z.number().int(),
      busy: z.number().int(),
      queueDepth: z.number().int(),
      leaseAgeMs: z.number(),
      state: z.enum(['alive', 'draining', 'dead']),
      host: z.string(),
      pid: z.number().int(),
    }),
  ),
  ring: z.object({ version: z.string(), shares: z.array(z.object({ id: z.string(), share: z.number() })) }),
  redis: z.object({
    master: RedisNodeViewSchema.nullable(),
    replicas: z.array(RedisNodeViewSchema),
    minReplicas: z.number().int(),
    lastWriteAcked: z.boolean().nullable(),
  }),
  tasksPerSec: z.number(),
  evacuations: z.array(z.object({ node: z.string(), movedTasks: z.number().int(), at: z.number(), lapsed: z.boolean() })),
  autoscale: AutoscaleViewSchema.nullable().describe('worker nodes alive (current) vs the leader\'s recommendation (desired) and why; null while no leader reports one'),
}).meta({ id: 'ClusterView' });

export type ErrorBody = z.infer<typeof ErrorBodySchema>;
export type WireJobStatus = z.infer<typeof JobStatusSchema>;
export type WireJob = z.infer<typeof JobSchema>;
export type WireJobDetail = z.infer<typeof JobDetailSchema>;
export type WireJobAccepted = z.infer<typeof JobAcceptedSchema>;
export type WireJobEnded = z.infer<typeof JobEndedSchema>;
export type WireJobPage = z.infer<typeof JobPageSchema>;
export type WireJobResult = z.infer<typeof JobResultSchema>;
export type WireJobTypeInfo = z.infer<typeof JobTypeInfoSchema>;
export type WireProgressEvent = z.infer<typeof ProgressEventSchema>;
export type WireEndEvent = z.infer<typeof EndEventSchema>;
export type WireClusterView = z.infer<typeof ClusterViewSchema>;
export type WireDeployAnswer = z.infer<typeof DeployAnswerSchema>;
export type WireJobTypeVersions = z.infer<typeof JobTypeVersionsSchema>;
export type ListJobsQuery = z.input<typeof ListJobsQuerySchema>;

/** `POST /v1/schedules` body: a submission (job, input, options, checked as `POST /v1/jobs` checks them) and when to run it. */
export const ScheduleBodySchema = z
  .object({
    job: z.string().min(1).max(100).describe('job type name, see GET /v1/job-types'),
    input: z.unknown(),
    options: JobOptionsSchema.optional(),
    cron: z.string().min(1).max(200).describe('five fields (minute hour day month weekday) or six with seconds first, e.g. "0 2 * * *", "*/10 * * * * *"'),
    timezone: z.string().min(1).max(100).default('UTC').describe('IANA time zone the cron expression is read in'),
    missed: z.enum(['skip', 'run-once']).default('skip').describe('ticks that passed while no scheduler led: skip them, or run one job for them all'),
    paused: z.boolean().default(false).describe('stored paused: no tick fires until it is resumed'),
  })
  .strict();

export const ScheduleRunSchema = z.object({
  tick: z.number().describe('the tick, ms since the epoch'),
  jobId: z.string(),
  links: JobLinksSchema,
});

/** A schedule as `GET /v1/schedules` shows it, with its next run times and the jobs its last ticks started. */
export const ScheduleSchema = z.object({
  id: z.string(),
  job: z.string().describe('the job type'),
  tenant: z.string().describe('the tenant the schedule and the jobs its ticks start belong to (docs/tenants.md)'),
  input: z.unknown(),
  options: ResolvedJobOptionsSchema,
  cron: z.string(),
  timezone: z.string(),
  missed: z.enum(['skip', 'run-once']),
  paused: z.boolean(),
  createdAt: z.number(),
  lastTick: z.number().describe('the last tick fired or skipped, ms since the epoch'),
  nextRuns: z.array(z.number()).describe('the next ticks, ms since the epoch (none while paused)'),
  runs: z.array(ScheduleRunSchema).describe('the jobs the last ticks started, newest first'),
}).meta({ id: 'Schedule' });

export const ScheduleListSchema = z.object({ schedules: z.array(ScheduleSchema) });

export const DeleteScheduleAnswerSchema = z.object({ id: z.string(), deleted: z.literal(true) });

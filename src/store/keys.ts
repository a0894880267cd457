// Every Redis key and channel name ringpool uses, built in one place from one prefix.
import { RingpoolError } from '../errors.js';

export interface Keys {
  readonly prefix: string;
  /** Hash: the job record. */
  job(id: string): string;
  /** Hash: first task index of a stored batch → JSON `[[index, result], …]`. */
  results(id: string): string;
  /** Bitmap: bit i is set once task i has a stored result (what makes the first write win). */
  storedBits(id: string): string;
  /** Hash: task index → JSON error of a task that failed for good. */
  taskErrors(id: string): string;
  /** String: the job's reduced result. */
  jobResult(id: string): string;
  /** List: JSON lines the job's tasks wrote with `ctx.log`, oldest first, the newest MAX_JOB_LOG_LINES kept. */
  jobLogs(id: string): string;
  /** Sorted set: every job id scored by creation time (listing, newest first). */
  readonly jobs: string;
  /** Sorted set, all scores 0: job ids in lexical order, for search by id prefix. */
  readonly jobsById: string;
  /** Sorted set: a tenant's job ids scored by creation time (its listing, newest first). */
  jobsOfTenant(tenant: string): string;
  /** Set: ids of jobs whose input or type contains a word (the search index). */
  searchWord(word: string): string;
  /** Set: ids of jobs not yet finished (what a new scheduler leader resumes). */
  readonly active: string;
  /** List: `split:<id>` and `reduce:<id>` notices for the scheduler leader. */
  readonly wake: string;
  /** String: the highest scheduler term seen (the fencing token, docs/architecture.md §2). */
  readonly fence: string;
  /** String: results stored cluster-wide since the start (throughput = its rate). */
  readonly resultsStored: string;
  /** Hash: job type → average task run time in µs, measured by the workers. */
  readonly taskTimes: string;
  /** Hash: job type → average JSON bytes of one task's result (how the scheduler bounds an entry's results). */
  readonly resultSizes: string;
  /** List, newest first: JSON reports of worker nodes whose tasks were moved (the dashboard's timeline). */
  readonly evacuations: string;
  /** Set: worker node ids asked to drain (`POST /v1/workers/:id/drain`); a node takes its own id out. */
  readonly drainRequests: string;
  /** Hash: scheduler id → JSON of its Raft status, refreshed twice a second. */
  readonly schedulers: string;
  /** Hash: worker node id → JSON registration (threads, heartbeat). */
  readonly workers: string;
  /** Pub/sub channel: `cancel:<id>` when a job is cancelled. */
  readonly events: string;
  /** Sorted set: a principal's jobs in flight, job id → reservation time in ms (see quota-admit.lua). */
  quota(principal: string): string;
  /**
   * Hash: a webhook delivery (id `<jobId>.<event>.<run>`): the callback, the job's end, state and
   * attempts. Queued by the scripts that end a job (`queueWebhook` in _fence.lua builds the same
   * name from the job key).
   */
  webhook(deliveryId: string): string;
  /** Sorted set: pending webhook delivery ids scored by their next attempt time, ms (built alike in _fence.lua). */
  readonly webhooksDue: string;
  /** BullMQ queue name of a worker node (BullMQ adds its own prefix: ours). */
  nodeQueue(nodeId: string): string;
  /** Hash: deployed job type name → its active version. */
  readonly jobTypesActive: string;
  /** String: bumped on every deploy, activation and deletion (nodes poll it to reload). */
  readonly jobTypesRevision: string;
  /** Hash: version → JSON of a deployed job type's version (digest, size, when, by whom). */
  jobTypeVersions(name: string): string;
  /** String: the last version number given to a deployed job type. */
  jobTypeSeq(name: string): string;
  /** String: a deployed job type's bundled code, by its SHA-256 (content-addressed). */
  jobTypeCode(name: string, digest: string): string;
  /** Set: the id of every schedule. */
  readonly schedules: string;
  /** Hash: a schedule (`def` JSON, `paused`, `lastTick`, `createdAt`). */
  schedule(id: string): string;
  /** List, newest first: JSON `{tick, jobId}` of the jobs a schedule's last ticks started. */
  scheduleJobs(id: string): string;
  /** String `<jobId> <body digest>`, expiring: a tenant's `Idempotency-Key` (by its digest) and the job it created (create-job.lua). */
  idempotency(tenant: string, keyDigest: string): string;
}

export function createKeys(prefix: string): Keys {
  if (!/^[A-Za-z0-9:_-]{1,64}$/.test(prefix)) {
    throw new RingpoolError('CONFIG', `Redis key prefix must be 1-64 of [A-Za-z0-9:_-], got ${JSON.stringify(prefix)}`);
  }
  const p = `${prefix}:`;
  return Object.freeze({
    prefix,
    job: (id: string) => `${p}job:${id}`,
    results: (id: string) => `${p}job:${id}:results`,
    storedBits: (id: string) => `${p}job:${id}:stored`,
    taskErrors: (id: string) => `${p}job:${id}:errors`,
    jobResult: (id: string) => `${p}job:${id}:result`,
    jobLogs: (id: string) => `${p}job:${id}:logs`,
    jobs: `${p}jobs`,
    jobsById: `${p}jobs:by-id`,
    jobsOfTenant: (tenant: string) => `${p}jobs:tenant:${tenant}`,
    searchWord: (word: string) => `${p}search:${word}`,
    active: `${p}active`,
    wake: `${p}wake`,
    fence: `${p}fence`,
    resultsStored: `${p}stats:results-stored`,
    evacuations: `${p}evacuations`,
    taskTimes: `${p}stats:task-us`,
    resultSizes: `${p}stats:result-bytes`,
    drainRequests: `${p}drain-requests`,
    schedulers: `${p}schedulers`,
    workers: `${p}workers`,
    events: `${p}events`,
    quota: (principal: string) => `${p}quota:${principal}`,
    webhook: (deliveryId: string) => `${p}webhook:${deliveryId}`,
    webhooksDue: `${p}webhooks:due`,
    nodeQueue: (nodeId: string) => `node-${nodeId}`,
    jobTypesActive: `${p}job-types:active`,
    jobTypesRevision: `${p}job-types:revision`,
    jobTypeVersions: (name: string) => `${p}job-type:${name}:versions`,
    jobTypeSeq: (name: string) => `${p}job-type:${name}:seq`,
    jobTypeCode: (name: string, digest: string) => `${p}job-type:${name}:code:${digest}`,
    schedules: `${p}schedules`,
    schedule: (id: string) => `${p}schedule:${id}`,
    scheduleJobs: (id: string) => `${p}schedule:${id}:jobs`,
    idempotency: (tenant: string, keyDigest: string) => `${p}idem:${tenant}:${keyDigest}`,
  });
}

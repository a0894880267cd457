// Every read and write of jobs and their lifecycle in Redis (docs/architecture.md §1-§5); results and other concerns have their own facades in src/store.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RingpoolError, type SerializedError } from '../errors.js';
import type { ResultType } from '../sdk/index.js';
import { WEBHOOK_EVENTS, type ResolvedJobOptions } from '../sdk/job-options.js';
import type { JobCallback } from '../sdk/index.js';
import { TERMINAL_STATUSES, parseJobHash, type JobError, type JobRecord, type JobStatus } from './job-record.js';
import type { Keys } from './keys.js';
import { queryWords, searchWords } from './search-words.js';
import { defineScripts, runScript, sendScript } from './scripts.js';
import { inOneWrite } from './one-write.js';
import { ReplicatedWrites, type ReplicatedWritesOptions } from './replicated-writes.js';
import { JobTypeStore } from './job-type-store.js';
import { QuotaStore } from './quota-store.js';
import { ResultStore } from './result-store.js';
import { ScheduleStore } from './schedule-store.js';
import { readReplication, type ReplicationView } from './replication.js';
import { SchedulerStatuses } from './scheduler-statuses.js';
import { WebhookStore } from './webhook-store.js';
import { WorkerStore } from './worker-store.js';
import { sweepJobIndexes, type IndexSweepOutcome } from './job-index-sweep.js';
import { DEFAULT_TENANT } from '../config/tenants.js';
import { parseAdoptions, type Adoption, type BatchStamp } from '../transport/task-batch.js';
import type { LogLine, LogPhase } from '../log-lines.js';

/** How the store's writes wait for the replicas (see ReplicatedWrites). */
export type JobStoreOptions = ReplicatedWritesOptions;

export interface NewJob {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
  readonly options: ResolvedJobOptions;
  readonly resultType: ResultType;
  /** The deployed version of the job type it runs; absent for a module from a folder. */
  readonly version?: number | undefined;
  /** The schedule whose tick (ms) started it (schedule-store.ts). */
  readonly schedule?: { readonly id: string; readonly tick: number } | undefined;
  /** The W3C trace context of the job's span (src/observability/tracing.ts); absent: not traced. */
  readonly traceparent?: string | undefined;
  /** The tenant the job belongs to (docs/tenants.md); absent: `default`. */
  readonly tenant?: string | undefined;
  /** Webhooks besides `options.callback`: the tenant's defaults (docs/tenants.md), each delivered on its own. */
  readonly extraCallbacks?: readonly JobCallback[] | undefined;
}

/** An `Idempotency-Key` as `createJob` stores it with the job (docs/tenants.md). */
export interface IdempotencyClaim {
  /** The tenant it belongs to: keys are per tenant. */
  readonly tenant: string;
  /** The header's value (stored by its SHA-256). */
  readonly key: string;
  /** Digest of the submission's canonical body: the same key with another body is refused. */
  readonly digest: string;
  /** How long the key names its job, s. */
  readonly ttlSec: number;
}

/** What `createJob` did: created the job, or found the idempotency key naming one already. */
export type CreateOutcome = { readonly created: true } | { readonly created: false; readonly existing: string; readonly sameBody: boolean };

/** A job's state as a worker needs it to decide whether to run a batch (JobStore.placementView). */
export interface PlacementView {
  readonly ended: boolean;
  readonly adoptions: Adoption[];
  /** The job's current run (JobRecord.reruns). */
  readonly rerun: number;
}

export interface StartedJob {
  readonly status: JobStatus | 'missing';
  /** Tasks enqueued before the last checkpoint: the split resumes after them. */
  readonly placed: number;
  readonly job: JobRecord | undefined;
  /** Measured µs per task of the job's type; undefined before any task of it ran. */
  readonly taskMicros: number | undefined;
}

/** Most lines a job's log keeps (the newest). */
export const MAX_JOB_LOG_LINES = 1_000;

/** A line of a job's log: what a task (or the split, or the reduce) wrote with `log`, when, and where it ran. */
export interface JobLogLine {
  /** Epoch ms, by the clock of the node that wrote it. */
  readonly at: number;
  /** The task that wrote it; null for the split's and the reduce's lines. */
  readonly task: number | null;
  /** Lines stored before phases existed are a task's. */
  readonly phase: LogPhase;
  /** The queue entry's attempt (0 first); 0 for the split's and the reduce's. */
  readonly attempt: number;
  /** The worker node that ran the task, or the scheduler that split or reduced. */
  readonly node: string;
  readonly message: string;
}

export interface ListJobsQuery {
  readonly status?: JobStatus;
  readonly name?: string;
  readonly limit: number;
  /** Offset into the newest-first list, from a previous page's `next`. */
  readonly cursor?: number;
  /** Only this tenant's jobs (docs/tenants.md). */
  readonly tenant?: string;
}

/** Whether a job passes a list's filters. */
function matches(job: JobRecord, query: ListJobsQuery): boolean {
  return (query.status === undefined || job.status === query.status) && (query.name === undefined || job.name === query.name) && (query.tenant === undefined || job.tenant === query.tenant);
}

/** Search index words live this long after their last use. */
const SEARCH_TTL_SEC = 30 * 86_400;
/** Most candidates one search considers. */
const SEARCH_MAX = 2_000;

const JOB_ID = /^[0-9a-z]{8,12}-[0-9a-f]{10}$/;

/** The options as the job shows them: a callback's secret stays out (it is in the `callback` field). */
function shownOptions(options: ResolvedJobOptions): ResolvedJobOptions {
  if (options.callback?.secret === undefined) return options;
  const { secret: _secret, ...callback } = options.callback;
  return { ...options, callback };
}

/** The `callback` field the scripts that end a job read (queueWebhook in _fence.lua): events resolved. */
function callbackField(options: ResolvedJobOptions, extra: readonly JobCallback[] = []): string[] {
  const resolved = (cb: JobCallback) => ({ ...cb, events: cb.events ?? WEBHOOK_EVENTS });
  return [
    ...(options.callback === undefined ? [] : ['callback', JSON.stringify(resolved(options.callback))]),
    ...(extra.length === 0 ? [] : ['callbacks', JSON.stringify(extra.map(resolved))]),
  ];
}

/**
 * Random bytes for job ids, drawn from the CSPRNG a block at a time: one `randomBytes` call cost
 * ~30 µs on the API's critical path whatever its size (docs/performance.md, `latency`); a block
 * serves 819 ids. Node's `crypto.randomUUID` caches its entropy the same way.
 */
const ID_ENTROPY_BLOCK = 4096;
let idEntropy = Buffer.alloc(0);
let idEntropyAt = 0;

/** A new job id: time-ordered, unguessable, safe in a URL and a Redis key. */
export function newJobId(now: number = Date.now()): string {
  if (idEntropyAt + 5 > idEntropy.length) {
    idEntropy = randomBytes(ID_ENTROPY_BLOCK);
    idEntropyAt = 0;
  }
  const random = idEntropy.toString('hex', idEntropyAt, idEntropyAt + 5);
  idEntropyAt += 5;
  return `${now.toString(36)}-${random}`;
}

export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

/**
 * Jobs, from creation to their end, and their tasks' errors, on one connection. The other
 * concerns' facades over the same connection hang off it (`results`, `workers`, `quotas`,
 * `schedulerStatuses`): a quota admission must leave in one write with its job's creation, a job
 * and its result are read in one (`together`), and the API's other reads need no connection more.
 */
export class JobStore {
  /** The key names of this store's prefix: for tests and tools that look into Redis. */
  readonly keys: Keys;
  readonly #redis: Redis;
  /** Every write the callers must be able to rely on waits for the replicas through it. */
  readonly #acks: ReplicatedWrites;
  /** The connection was up and is lost (closed, not yet ready again). */
  #lost = false;
  #results: ResultStore | undefined;
  #workers: WorkerStore | undefined;
  #quotas: QuotaStore | undefined;
  #schedulerStatuses: SchedulerStatuses | undefined;
  #jobTypes: JobTypeStore | undefined;
  #webhooks: WebhookStore | undefined;
  #schedules: ScheduleStore | undefined;

  constructor(redis: Redis, keys: Keys, options: JobStoreOptions = {}) {
    this.#acks = new ReplicatedWrites(redis, options);
    this.#redis = redis;
    this.keys = keys;
    redis.on('close', () => {
      this.#lost = true;
    });
    redis.on('ready', () => {
      this.#lost = false;
    });
    defineScripts(redis);
  }

  /** Task results, the job's result and measured task times, on this store's connection and its replicated writes. */
  get results(): ResultStore {
    return (this.#results ??= new ResultStore(this.#redis, this.keys, this.#acks));
  }

  /** Worker registrations, node queues, drain requests and evacuation reports, on this store's connection. */
  get workers(): WorkerStore {
    return (this.#workers ??= new WorkerStore(this.#redis, this.keys));
  }

  /** Jobs in flight per principal, on this store's connection (see `createJob`'s `reservedIn`). */
  get quotas(): QuotaStore {
    return (this.#quotas ??= new QuotaStore(this.#redis, this.keys));
  }

  /** Job types deployed at runtime, their versions and code, on this store's connection and its replicated writes. */
  get jobTypes(): JobTypeStore {
    return (this.#jobTypes ??= new JobTypeStore(this.#redis, this.keys, this.#acks));
  }

  /** Webhook deliveries of ended jobs and their logs, on this store's connection. */
  get webhooks(): WebhookStore {
    return (this.#webhooks ??= new WebhookStore(this.#redis, this.keys));
  }

  /** Schedules and the jobs their ticks started, on this store's connection and its replicated writes. */
  get schedules(): ScheduleStore {
    return (this.#schedules ??= new ScheduleStore(this.#redis, this.keys, this.#acks));
  }

  /** The schedulers' published statuses, on this store's connection. */
  get schedulerStatuses(): SchedulerStatuses {
    return (this.#schedulerStatuses ??= new SchedulerStatuses(this.#redis, this.keys));
  }

  /**
   * The connection's status while it is lost after having been up, else undefined. ioredis
   * queues commands meanwhile until a reconnect attempt fails (seconds, with backoff): a caller
   * that must not wait that long (the API) fails fast instead. Before the first connection it is
   * undefined: commands queue, as at startup.
   */
  get lostConnection(): string | undefined {
    return this.#lost && this.#redis.status !== 'ready' ? this.#redis.status : undefined;
  }

  /** Resolves once Redis answers on this store's connection. */
  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  /** Replication as the master this store's connection reaches reports it. */
  async replication(): Promise<ReplicationView> {
    return await readReplication(this.#redis);
  }

  get minReplicas(): number {
    return this.#acks.minReplicas;
  }

  /** Whether the last `WAIT` was confirmed by enough replicas; null before the first. */
  get lastWriteAcked(): boolean | null {
    return this.#acks.lastAcked;
  }

  // ---- API side -------------------------------------------------------------------------

  /**
   * Creates the job, indexed for search, and wakes the scheduler; returns once replicated.
   * `reservedIn`: the submitter's quota set (`JobQuota.keyOf`), whose admission of this id was sent
   * just before on this connection; without that reservation nothing is created (RATE_LIMITED);
   * `tenantReservedIn` likewise for the tenant's quota. `idempotency`: the key is stored with the
   * job in the same script; when it names a job already, nothing is created and that job's id is
   * returned (docs/tenants.md).
   */
  async createJob(job: NewJob, options: { reservedIn?: string; tenantReservedIn?: string; idempotency?: IdempotencyClaim; now?: number } = {}): Promise<CreateOutcome> {
    const k = this.keys;
    const now = options.now ?? Date.now();
    const epoch = this.#acks.epoch;
    const words = searchWords(job.name, job.input).map(k.searchWord);
    const idem = options.idempotency;
    const idemKey = idem === undefined ? '' : k.idempotency(idem.tenant, createHash('sha256').update(idem.key, 'utf8').digest('hex'));
    const keys = [k.job(job.id), k.jobs, k.active, k.wake, k.jobsById, options.reservedIn ?? '', options.tenantReservedIn ?? '', idemKey, k.jobsOfTenant(job.tenant ?? DEFAULT_TENANT)];
    const write = () => sendScript<number | [string, string]>(this.#redis, 'create-job', keys, [job.id, now, SEARCH_TTL_SEC, words.length, idem?.digest ?? '', idem?.ttlSec ?? 0, ...words, ...newJobFields(job, now)]);
    // A key naming a job with the same body is confirmed too: its first answer may have been a NOT_REPLICATED.
    const created = await this.#acks.write(write, epoch, (c) => c === 1 || (Array.isArray(c) && c[0] === 'same'));
    if (Array.isArray(created)) return { created: false, existing: created[1], sameBody: created[0] === 'same' };
    if (created === -1) throw new RingpoolError('RATE_LIMITED', `job ${job.id} was not admitted: no quota reservation in ${options.reservedIn}`);
    if (created !== 1) throw new RingpoolError('CONFLICT', `job id ${job.id} is already taken`);
    return { created: true };
  }

  /** Runs `send`, which issues commands on the store's connection, with them leaving in one socket write. */
  together<T>(send: () => T): T {
    return inOneWrite(this.#redis, send);
  }

  /** Jobs whose id starts with `q`, or whose type or input has every word of `q`; newest first. */
  async searchJobs(q: string, query: ListJobsQuery): Promise<{ jobs: JobRecord[]; next: number | null }> {
    const k = this.keys;
    const ids = new Set<string>();
    const prefix = q.trim().toLowerCase();
    if (/^[0-9a-z-]{2,}$/.test(prefix)) {
      for (const id of await this.#redis.zrangebylex(k.jobsById, `[${prefix}`, `[${prefix}~`, 'LIMIT', 0, SEARCH_MAX)) ids.add(id);
    }
    const words = queryWords(q);
    if (words.length > 0) for (const id of (await this.#redis.sinter(...words.map(k.searchWord))).slice(0, SEARCH_MAX)) ids.add(id);
    const jobs = (await this.#records([...ids]))
      .filter((j) => matches(j, query))
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    const start = query.cursor ?? 0;
    const page = jobs.slice(start, start + query.limit);
    return { jobs: page, next: start + page.length < jobs.length ? start + page.length : null };
  }

  async #records(ids: readonly string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    const pipe = this.#redis.pipeline();
    for (const id of ids) pipe.hgetall(this.keys.job(id));
    const replies = (await pipe.exec()) ?? [];
    return replies.flatMap(([, hash]) => parseJobHash((hash ?? {}) as Record<string, string>) ?? []);
  }

  /** A failed job runs again: its tasks without a stored result are re-enqueued. Returns the status before. */
  async retryJob(id: string): Promise<JobStatus | 'missing'> {
    const k = this.keys;
    const epoch = this.#acks.epoch;
    const before = await runScript<JobStatus | 'missing'>(this.#redis, 'retry-job', [k.fence, k.job(id), k.taskErrors(id), k.active, k.wake, k.storedBits(id)], [id]);
    if (before === 'failed') await this.#acks.acknowledge(epoch);
    return before;
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    return parseJobHash(await this.#redis.hgetall(this.keys.job(id)));
  }

  async listJobs(query: ListJobsQuery): Promise<{ jobs: JobRecord[]; next: number | null }> {
    const jobs: JobRecord[] = [];
    let offset = query.cursor ?? 0;
    const page = Math.max(50, query.limit * 2);
    for (;;) {
      // A tenant's list is its own index: a tenant with few jobs does not read everyone's.
      const listing = query.tenant === undefined ? this.keys.jobs : this.keys.jobsOfTenant(query.tenant);
      const ids = await this.#redis.zrevrange(listing, offset, offset + page - 1);
      if (ids.length === 0) return { jobs, next: null };
      const pipe = this.#redis.pipeline();
      for (const id of ids) pipe.hgetall(this.keys.job(id));
      const replies = (await pipe.exec()) ?? [];
      for (let i = 0; i < ids.length; i++) {
        const record = parseJobHash((replies[i]?.[1] ?? {}) as Record<string, string>);
        if (record === undefined) continue; // expired: its listing entry is stale
        if (!matches(record, query)) continue;
        jobs.push(record);
        if (jobs.length === query.limit) return { jobs, next: offset + i + 1 };
      }
      offset += ids.length;
    }
  }

  /** Appends the lines a batch's tasks (or a split, or a reduce) wrote (append-logs.lua); not `WAIT`-acknowledged: logs are best effort. */
  async appendTaskLogs(jobId: string, lines: readonly LogLine[], node: string, attempt: number): Promise<void> {
    if (lines.length === 0) return;
    const json = lines.map((l) => JSON.stringify({ at: l.at, task: l.task, phase: l.phase, attempt, node, message: l.message } satisfies JobLogLine));
    await runScript(this.#redis, 'append-logs', [this.keys.job(jobId), this.keys.jobLogs(jobId)], [MAX_JOB_LOG_LINES, ...json]);
  }

  /** The newest `limit` lines of a job's log, oldest first; only task `task`'s when given (from the newest MAX_JOB_LOG_LINES). */
  async taskLogs(jobId: string, { limit, task }: { limit: number; task?: number | undefined }): Promise<JobLogLine[]> {
    const key = this.keys.jobLogs(jobId);
    const raw = task === undefined ? await this.#redis.lrange(key, -limit, -1) : await this.#redis.lrange(key, 0, -1);
    const lines = raw.map((line) => ({ phase: 'task', ...(JSON.parse(line) as Omit<JobLogLine, 'phase'>) }) as JobLogLine);
    return task === undefined ? lines : lines.filter((l) => l.task === task).slice(-limit);
  }

  /** Takes the ids of forgotten jobs out of the listings, and puts every job in its tenant's (job-index-sweep.ts). */
  async sweepIndexes(): Promise<IndexSweepOutcome> {
    return await sweepJobIndexes(this.#redis, this.keys);
  }

  /** Cancels a job that has not ended; returns its status after the call. */
  async cancelJob(id: string, now: number = Date.now()): Promise<JobStatus | 'missing'> {
    const k = this.keys;
    return await runScript(this.#redis, 'cancel-job', [k.fence, k.job(id), k.active], [id, now, k.events]);
  }

  async taskErrors(id: string): Promise<Array<JobError & { taskIndex: number }>> {
    const hash = await this.#redis.hgetall(this.keys.taskErrors(id));
    return Object.entries(hash)
      .map(([index, raw]) => ({ ...(JSON.parse(raw) as SerializedError), taskIndex: Number(index) }))
      .sort((a, b) => a.taskIndex - b.taskIndex);
  }

  // ---- scheduler side (fenced by the leader's term) ---------------------------------------

  async activeJobIds(): Promise<string[]> {
    return await this.#redis.smembers(this.keys.active);
  }

  /**
   * The scheduler begins splitting: a queued job becomes running and this leader adopts it (see
   * start-job.lua); returns the job as it is then, how many tasks were placed before (the split
   * goes on from there) and the measured µs per task of its type. A job whose split has ended, or
   * that has ended, is returned unchanged.
   */
  async startJob(id: string, term: number, now: number = Date.now()): Promise<StartedJob> {
    const k = this.keys;
    const [flat, micros] = await runScript<[string[], string | null]>(this.#redis, 'start-job', [k.fence, k.job(id), k.taskTimes], [term, now]);
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i] as string] = flat[i + 1] as string;
    const job = parseJobHash(hash);
    return { status: job?.status ?? 'missing', placed: job?.progress.placed ?? 0, job, taskMicros: micros === null ? undefined : Number(micros) };
  }

  /**
   * What a worker checks before running a batch: has the job ended, which leaders adopted it,
   * and which run it is in (JobRecord.reruns).
   */
  async placementView(id: string): Promise<PlacementView> {
    const [status, adoptions, reruns] = await this.#redis.hmget(this.keys.job(id), 'status', 'adoptions', 'retries');
    return { ended: this.isTerminal((status ?? undefined) as JobStatus | undefined), adoptions: parseAdoptions(adoptions), rerun: Number(reruns ?? 0) };
  }

  /** Records how many tasks are enqueued; `total` once the split has ended. */
  async recordSplit(id: string, term: number, placed: number, total?: number): Promise<JobStatus | 'missing'> {
    const k = this.keys;
    const epoch = this.#acks.epoch;
    // Every checkpoint is confirmed: a split that goes on from a checkpoint lost in a Redis failover
    // would leave the tasks in between unplaced. Unconfirmed, the split stops and resumes from Redis.
    return await this.#acks.write(() => sendScript<JobStatus | 'missing'>(this.#redis, 'record-split', [k.fence, k.job(id), k.wake], [term, id, placed, total ?? '']), epoch);
  }

  /** Completes a running job with its reduced result, serialised: JSON text, or the bytes of an image. */
  async completeJobWith(id: string, term: number, payload: string | Buffer, ttlSec: number, now: number = Date.now()): Promise<JobStatus | 'missing'> {
    const k = this.keys;
    const epoch = this.#acks.epoch;
    const write = () => sendScript<JobStatus | 'missing'>(this.#redis, 'complete-job', [k.fence, k.job(id), k.jobResult(id), k.active, k.results(id), k.storedBits(id), k.taskErrors(id)], [
      term, id, now, payload, ttlSec, k.events,
    ]);
    return await this.#acks.write(write, epoch);
  }

  async failJob(id: string, term: number, error: SerializedError, now: number = Date.now()): Promise<JobStatus | 'missing'> {
    const k = this.keys;
    const epoch = this.#acks.epoch;
    return await this.#acks.write(() => sendScript<JobStatus | 'missing'>(this.#redis, 'fail-job', [k.fence, k.job(id), k.active], [term, id, JSON.stringify(error), now, k.events]), epoch);
  }

  /**
   * Calls `onCancel` with the id of every job cancelled from now on (the events channel).
   * `subscriber` must be a connection of its own: it enters subscribe mode.
   */
  async onCancelled(subscriber: Redis, onCancel: (jobId: string) => void): Promise<void> {
    const channel = this.keys.events;
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel && message.startsWith('cancel:')) onCancel(message.slice(7));
    });
    await subscriber.subscribe(channel);
  }

  /**
   * Calls `onWon(jobId)` when a backup copy of some of the job's tasks (TaskBatch.copy) stored its
   * results: the nodes running the original stop it if all its results are stored now (stragglers,
   * docs/architecture.md §5). On the events channel: a notice missed while disconnected only lets
   * the original run to its end, its results then dropped (first write wins).
   */
  async onCopyWon(subscriber: Redis, onWon: (jobId: string) => void): Promise<void> {
    const channel = this.keys.events;
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel && message.startsWith('won:')) onWon(message.slice(4));
    });
    await subscriber.subscribe(channel);
  }

  /** Tells the nodes that a backup copy of the job's tasks stored results (see onCopyWon). */
  async announceCopyWon(jobId: string): Promise<void> {
    await this.#redis.publish(this.keys.events, `won:${jobId}`);
  }

  /** Blocks on the scheduler's wake list; `client` must be a connection of its own. */
  async nextWake(client: Redis, timeoutSec: number): Promise<{ kind: 'split' | 'reduce'; jobId: string } | null> {
    const reply = await client.blpop(this.keys.wake, timeoutSec);
    if (reply === null) return null;
    const [kind, jobId] = reply[1].split(':') as [string, string];
    return kind === 'split' || kind === 'reduce' ? { kind, jobId } : null;
  }

  /** Puts a notice back at the head of the wake list (taken by a scheduler that lost leadership). */
  async returnWake(wake: { kind: 'split' | 'reduce'; jobId: string }): Promise<void> {
    await this.#redis.lpush(this.keys.wake, `${wake.kind}:${wake.jobId}`);
  }

  // ---- worker side ------------------------------------------------------------------------

  /**
   * Returns once every write the master had made before this call is on the replicas: results an
   * earlier attempt stored without seeing them replicated, a job's end read before its writer's
   * `WAIT` answered. WAIT covers the last write of its own connection, so one goes first (INCRBY 0
   * is still propagated); replication is one ordered stream, so the writes before it are covered
   * too. The write and its WAIT leave in one socket write. NOT_REPLICATED when they fall short.
   * Here rather than on `results`: it confirms whatever this connection wrote, a job's end too.
   */
  async confirmReplicated(): Promise<void> {
    await this.#acks.confirmAfter(() => this.#redis.incrby(this.keys.resultsStored, 0));
  }

  async failTask(jobId: string, taskIndex: number, error: SerializedError, batch?: BatchStamp, now: number = Date.now()): Promise<JobStatus | 'missing' | 'stale'> {
    const k = this.keys;
    const epoch = this.#acks.epoch;
    const write = () => sendScript<JobStatus | 'missing' | 'stale'>(this.#redis, 'fail-task', [k.fence, k.job(jobId), k.taskErrors(jobId), k.active, k.storedBits(jobId), k.wake], [
      jobId, taskIndex, JSON.stringify({ ...error, taskIndex }), now, k.events, batch?.term ?? 0, batch?.lastIndex ?? 0,
    ]);
    return await this.#acks.write(write, epoch);
  }

  isTerminal(status: JobStatus | 'missing' | undefined): boolean {
    return status === undefined || status === 'missing' || TERMINAL_STATUSES.has(status);
  }
}

/** The fields create-job.lua stores for a new job created at `now`, as field/value pairs. */
function newJobFields(job: NewJob, now: number): Array<string | number> {
  return [
    'id', job.id,
    'name', job.name,
    'status', 'queued',
    'input', JSON.stringify(job.input),
    'options', JSON.stringify(shownOptions(job.options)),
    ...callbackField(job.options, job.extraCallbacks),
    'tenant', job.tenant ?? DEFAULT_TENANT,
    'resultType', job.resultType,
    ...(job.version === undefined ? [] : ['version', job.version]),
    ...(job.schedule === undefined ? [] : ['scheduleId', job.schedule.id, 'scheduledFor', job.schedule.tick]),
    ...(job.traceparent === undefined ? [] : ['traceparent', job.traceparent]),
    'createdAt', now,
    'placed', 0, 'done', 0, 'failed', 0, 'duplicates', 0,
  ];
}

/** The record a new job's creation at `now` stores, as reading it back would give it (parseJobHash of the same fields). */
export function newJobRecord(job: NewJob, now: number): JobRecord {
  const fields = newJobFields(job, now);
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) hash[fields[i] as string] = String(fields[i + 1]);
  return parseJobHash(hash) as JobRecord;
}

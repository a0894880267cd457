// The job record as stored in Redis, and how a hash of strings becomes a typed record.
import type { SerializedError } from '../errors.js';
import type { JobOptions, ResultType } from '../sdk/index.js';
import { storedJobOptions, type ResolvedJobOptions } from '../sdk/job-options.js';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];

export interface JobProgress {
  /** Number of tasks, known once the split has ended. */
  readonly total: number | null;
  /** Tasks enqueued so far. */
  readonly placed: number;
  readonly done: number;
  readonly failed: number;
  /** Results dropped because one was already stored (first write wins). */
  readonly duplicates: number;
  /** Results that arrived after the job had ended (cancelled, failed): not stored. */
  readonly dropped: number;
}

export interface JobError extends SerializedError {
  readonly taskIndex?: number;
}

/** Where a job's time went (ms since the epoch by the Redis clock, µs of task run time). */
export interface JobTiming {
  /** When the split had placed the last task. */
  readonly splitDoneAt: number | null;
  /** When the last task result was stored (the reduce starts then). */
  readonly lastResultAt: number | null;
  /** Run time of all tasks added up, µs (measured inside the worker threads). */
  readonly runMicros: number;
  /**
   * Where the results were reduced: 'scheduler', or the id of the worker node that ran a job of
   * one queue entry and reduced it in the same thread call (TaskBatch.whole); null until then.
   */
  readonly reducedOn: string | null;
}

export interface JobRecord {
  readonly id: string;
  readonly name: string;
  readonly status: JobStatus;
  readonly input: unknown;
  readonly options: ResolvedJobOptions;
  readonly resultType: ResultType;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly progress: JobProgress;
  readonly error: JobError | null;
  readonly timing: JobTiming;
  /** Stored results per worker node id. */
  readonly tasksPerNode: Readonly<Record<string, number>>;
  /** Measured run time of those results per worker node id, µs summed (a node's time per task over the others' says it is slow). */
  readonly runMicrosPerNode: Readonly<Record<string, number>>;
  /** Asks of each worker node's cache (`ctx.cache`) by the job's tasks, and the cache's size at the last. */
  readonly cachePerNode: Readonly<Record<string, NodeCacheCounts>>;
  /** Tasks whose result came from a retried queue entry. */
  readonly retriedTasks: number;
  /** Stragglers (docs/architecture.md §5): tasks stolen for idle nodes, backup copies run, time spent on copies whose result lost. */
  readonly stragglers: { readonly stolenTasks: number; readonly speculatedTasks: number; readonly wastedMs: number };
  /** How many times the job was retried after it failed (POST /v1/jobs/:id/retry): its current run. */
  readonly reruns: number;
  /** The deployed version of its job type that it runs, whatever is active later; null: a module from a folder. */
  readonly version: number | null;
  /** The schedule that started it (POST /v1/schedules), and the tick it was for (ms); null for a submitted job. */
  readonly scheduleId: string | null;
  readonly scheduledFor: number | null;
  /** The W3C trace context of the job's span, which its work continues (src/observability/tracing.ts); null: not traced. */
  readonly traceparent: string | null;
  /** The tenant it belongs to (docs/tenants.md); `default` for a job stored before tenants existed. */
  readonly tenant: string;
  /** Completed although some tasks failed, within the job's maxFailedTasks/maxFailedRatio (their errors: JobStore.taskErrors). */
  readonly partial: boolean;
}

/** A job's asks of one node's cache. */
export interface NodeCacheCounts {
  readonly hits: number;
  readonly misses: number;
  /** The node's cache size when it last counted for this job, bytes. */
  readonly bytes: number;
}

/** The per-node fields of a job hash, by node: `node:<id>`, `runMicros:<id>` and the cache's counts. */
interface PerNode {
  readonly tasks: Record<string, number>;
  readonly runMicros: Record<string, number>;
  readonly cache: Record<string, NodeCacheCounts>;
}

const CACHE_FIELD = /^cache(Hits|Misses|Bytes):(.+)$/;

/**
 * One pass over the hash's fields for the per-node ones (`cacheHits:<node>`, … as ResultStore.countCache
 * writes them): a record is parsed several times per job (docs/performance.md, `latency`), and a walk
 * of its ~40 fields per kind allocated its entries each time.
 */
function perNode(hash: Record<string, string>): PerNode {
  const tasks: Record<string, number> = {};
  const runMicros: Record<string, number> = {};
  const cache: Record<string, { hits: number; misses: number; bytes: number }> = {};
  for (const field in hash) {
    const value = hash[field] as string;
    if (field.startsWith('node:')) tasks[field.slice(5)] = Number(value);
    else if (field.startsWith('runMicros:')) runMicros[field.slice(10)] = Number(value);
    else if (field.startsWith('cache')) {
      const match = CACHE_FIELD.exec(field);
      if (match === null) continue;
      const counts = (cache[match[2] as string] ??= { hits: 0, misses: 0, bytes: 0 });
      counts[match[1] === 'Hits' ? 'hits' : match[1] === 'Misses' ? 'misses' : 'bytes'] = Number(value);
    }
  }
  return { tasks, runMicros, cache };
}

/** Builds the typed record from HGETALL's reply; `undefined` for a missing hash. */
export function parseJobHash(hash: Record<string, string>): JobRecord | undefined {
  if (hash.id === undefined || hash.status === undefined) return undefined;
  const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
  const nodes = perNode(hash);
  return {
    id: hash.id,
    name: hash.name ?? '',
    status: hash.status as JobStatus,
    input: JSON.parse(hash.input ?? 'null'),
    options: storedJobOptions(JSON.parse(hash.options ?? '{}') as JobOptions),
    resultType: (hash.resultType ?? 'json') as ResultType,
    createdAt: Number(hash.createdAt ?? 0),
    startedAt: num(hash.startedAt),
    finishedAt: num(hash.finishedAt),
    progress: {
      total: hash.splitDone === '1' ? Number(hash.total) : null,
      placed: Number(hash.placed ?? 0),
      done: Number(hash.done ?? 0),
      failed: Number(hash.failed ?? 0),
      duplicates: Number(hash.duplicates ?? 0),
      dropped: Number(hash.dropped ?? 0),
    },
    error: hash.error ? (JSON.parse(hash.error) as JobError) : null,
    timing: { splitDoneAt: num(hash.splitDoneAt), lastResultAt: num(hash.lastResultAt), runMicros: Number(hash.runMicros ?? 0), reducedOn: hash.reducedOn ?? null },
    tasksPerNode: nodes.tasks,
    runMicrosPerNode: nodes.runMicros,
    cachePerNode: nodes.cache,
    retriedTasks: Number(hash.retriedTasks ?? 0),
    stragglers: { stolenTasks: Number(hash.stolenTasks ?? 0), speculatedTasks: Number(hash.speculatedTasks ?? 0), wastedMs: Number(hash.wastedMs ?? 0) },
    reruns: Number(hash.retries ?? 0),
    version: num(hash.version),
    scheduleId: hash.scheduleId ?? null,
    scheduledFor: num(hash.scheduledFor),
    traceparent: hash.traceparent ?? null,
    tenant: hash.tenant ?? 'default',
    partial: hash.status === 'completed' && Number(hash.failed ?? 0) > 0,
  };
}

// What a job module imports: defineJob, the task context and the types inferred from a module.
import type { z } from 'zod';
import type { BlobReader } from './blobs.js';

export type { BlobInfo, BlobReader, BlobRef, ByteRange } from './blobs.js';

/** Per-job execution options; a module gives defaults, a submission may override them. */
export interface JobOptions {
  /** Extra attempts for a failing task. @default 2 */
  readonly retries?: number;
  /** Hard limit for one task; past it the thread is stopped. @default 60000 */
  readonly taskTimeoutMs?: number;
  /** Heap limit for the thread running a task, in MB. @default 512 */
  readonly taskMemoryMb?: number;
  /** Tasks per queue entry; 0 means chosen by the scheduler. @default 0 */
  readonly batchSize?: number;
  /** How long the job's results are kept after it ends, in seconds. @default 86400 */
  readonly resultTtlSec?: number;
  /** A POST when the job ends (docs/webhooks.md); absent: none, or the node's `--webhook-url`. */
  readonly callback?: JobCallback;
  /** Share of the pool against other jobs (fair share, docs/tenants.md): 1–10, times the tenant's weight. @default 5 */
  readonly priority?: number;
  /** Tasks that may fail for good and the job still completes, `partial` (docs/tenants.md "Tolerated failures"). @default 0 */
  readonly maxFailedTasks?: number;
  /** Fraction of the tasks (0..1) that may fail for good and the job still completes, `partial`. @default 0 */
  readonly maxFailedRatio?: number;
}

/**
 * The third argument of `reduce`: which task each result came from, and `log`. All tasks succeeded unless the
 * job tolerates failures (`maxFailedTasks`/`maxFailedRatio`): then `results` holds only the
 * successful ones, `indexes[i]` is the task index of `results[i]`, and `failed` the rest.
 */
export interface ReduceInfo {
  readonly indexes: readonly number[];
  readonly failed: readonly { readonly index: number; readonly error: { readonly code: string; readonly message: string } }[];
  /** A line in the job's log, as `ctx.log` in a task (phase `reduce`, no task); the same bounds, 200 lines a reduce. */
  log(...args: unknown[]): void;
}

/** The events a job's webhook can be sent for. */
export type WebhookEvent = 'completed' | 'failed' | 'cancelled';

/** Where and for which ends of the job a webhook is sent (docs/webhooks.md). */
export interface JobCallback {
  /** An http(s) URL, at most 2048 characters; private addresses are refused unless `--webhook-allow`ed. */
  readonly url: string;
  /** The ends that are sent. @default all three */
  readonly events?: readonly WebhookEvent[];
  /** Signs each delivery (`Ringpool-Signature`); absent: the node's `--webhook-secret`, if any. */
  readonly secret?: string;
}

/** Handed to `run` inside the worker thread. */
export interface TaskContext {
  /** Aborted when the task is cancelled or times out: long loops should check it. */
  readonly signal: AbortSignal;
  readonly jobId: string;
  readonly taskIndex: number;
  /** 0 on the first try. */
  readonly attempt: number;
  /** Reports a fraction in [0, 1] of this task done. */
  progress(fraction: number): void;
  /**
   * A line in the job's log (`GET /v1/jobs/:id/logs`, `ringpool logs <id>`), formatted as
   * `console.log` formats its arguments, with this task's index, attempt and node. Best effort:
   * kept for the job's `resultTtlSec`, the newest 1,000 lines of a job, 200 a thread call, each cut
   * at 2,000 characters; not acknowledged by the replicas, and lost with a thread that crashes.
   */
  log(...args: unknown[]): void;
  /**
   * The value kept under `key` on this worker node, or `load()`'s (then kept for the next task):
   * one cache per node, shared by its threads, least recently used dropped past `--cache-bytes`.
   * Threads asking for a key being loaded wait for that one load (single-flight). Pair it with
   * `keyOf`, so tasks that need the same value go to the same node (README, "when to use keyOf
   * and the cache"). Values must be structured-clonable; treat them as read-only (a Buffer is
   * shared memory across the node's threads).
   */
  cache<T>(key: string, load: () => T | Promise<T>): Promise<T>;

  /**
   * The cluster's blob store (`--blob-store`, docs/blobs.md): `get(ref, { range })` streams an object
   * named in the input (`{ "$ref": "s3://bucket/key" }`); a retry reads it again. Without a blob
   * store every call fails with a CONFIG error saying how to set one.
   */
  readonly blobs: BlobReader;
}

/** Handed to `split` on the scheduler: `blobs.list(prefix)` and `blobs.head(ref)` turn a prefix into one task per object or byte range. */
export interface SplitContext {
  readonly blobs: BlobReader;
  /**
   * A line in the job's log, as `ctx.log` in a task (phase `split`, no task); the same bounds, 200
   * lines a split. A split resumed by a new leader runs again from its start, and writes its lines again.
   */
  log(...args: unknown[]): void;
}

/** How a job's result is served: JSON, or the bytes of an image. */
export type ResultType = 'json' | 'image/png';

/**
 * A job module. `Name` is the name as a literal type (`'primes'`, inferred by `defineJob`), so a
 * typed client can map names to inputs (`JobTypes` in src/client); it defaults to `string`.
 */
export interface JobDefinition<S extends z.ZodType, Task, TaskResult, Result, Name extends string = string> {
  /** Lower-case letters, digits and dashes; the name users submit. */
  readonly name: Name;
  readonly description?: string;
  /** The input schema: every submission is checked against it before anything is stored. */
  readonly input: S;
  /**
   * Splits an input into JSON-serialisable tasks. Must be deterministic: a new scheduler leader
   * re-runs it to resume where the last one stopped.
   */
  split(input: z.output<S>, ctx: SplitContext): Iterable<Task> | AsyncIterable<Task>;
  /** Runs one task inside a worker thread. */
  run(task: Task, ctx: TaskContext): TaskResult | Promise<TaskResult>;
  /** Combines the task results, in task order, into the job's result; `info` says which tasks they are (see ReduceInfo; ringpool always passes it). */
  reduce(results: TaskResult[], input: z.output<S>, info?: ReduceInfo): Result | Promise<Result>;
  /** The placement key of a task (tasks with one key go to one node). @default `${jobId}:${index}` */
  keyOf?(task: Task, index: number): string;
  /** `image/png` means `reduce` returns the PNG's bytes. @default 'json' */
  readonly resultType?: ResultType;
  readonly defaults?: JobOptions;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJob = JobDefinition<z.ZodType, any, any, any>;
export type InputOf<J> = J extends JobDefinition<infer S, unknown, unknown, unknown> ? z.output<S> : never;
export type TaskOf<J> = J extends JobDefinition<z.ZodType, infer T, unknown, unknown> ? T : never;
export type TaskResultOf<J> = J extends JobDefinition<z.ZodType, unknown, infer R, unknown> ? R : never;
export type ResultOf<J> = J extends JobDefinition<z.ZodType, unknown, unknown, infer O> ? O : never;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** Declares a job module; the types of input, task, task result and job result are inferred. */
export function defineJob<S extends z.ZodType, Task, TaskResult, Result, const Name extends string = string>(
  definition: JobDefinition<S, Task, TaskResult, Result, Name>,
): JobDefinition<S, Task, TaskResult, Result, Name> {
  if (!NAME.test(definition.name)) {
    throw new TypeError(
      `job name must be lower-case letters, digits and dashes starting with a letter (at most 63), got ${JSON.stringify(definition.name)}`,
    );
  }
  for (const fn of ['split', 'run', 'reduce'] as const) {
    if (typeof definition[fn] !== 'function') {
      throw new TypeError(`job "${definition.name}": ${fn} must be a function, got ${typeof definition[fn]}`);
    }
  }
  return Object.freeze({ ...definition });
}

/**
 * Throw this from `run` for a failure that another attempt cannot fix (bad data, not a flaky
 * dependency): the task fails at once instead of being retried.
 */
export class NonRetryableError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

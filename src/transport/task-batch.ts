// The queue entry the scheduler enqueues for a worker node: a batch of one job's tasks.
import type { ReduceSpec } from '../registry/reduce-results.js';

export interface TaskBatch {
  readonly jobId: string;
  /** Job type name, looked up in the worker's registry. */
  readonly job: string;
  /** The scheduler leader's Raft term when it placed the batch (a fencing token, docs/architecture.md §2). */
  readonly term: number;
  /**
   * The tasks, `[[task index, task payload], …]` in the order they run, as JSON: an entry carries
   * them as one string, which BullMQ stores and reads back whole and the worker hands to its
   * threads as it came, never parsed on its main thread (docs/performance.md, "Throughput").
   * `batchTasks` parses them where the pairs are needed (a move, a retry).
   */
  readonly tasksJson: string;
  /** How many tasks `tasksJson` holds. */
  readonly taskCount: number;
  /** The index of its first task. */
  readonly firstTask: number;
  /** The index of its last task. */
  readonly lastTask: number;
  /**
   * Tasks a thread claims at a time: the worker's threads share the entry's tasks, taking this
   * many at once (long tasks one by one), and the results are written together once all are
   * done. Absent: the whole entry runs as one call on one thread.
   */
  readonly perCall?: number;
  readonly taskTimeoutMs: number;
  readonly taskMemoryMb: number;
  /**
   * Present when the entry holds every task of its job (0 … n-1, one thread call): the worker
   * reduces the results in the same thread call and ends the job with the write that stores
   * them, sparing the scheduler's reduce its wake-up, reads, thread call and write. Any other
   * turn (a task failed, the reduce threw, a result was stored already) takes the usual path.
   */
  readonly whole?: WholeJob;
  /**
   * The job's run that placed the batch: how many times it had been retried after failing
   * (absent: 0). A retry's batches are new queue entries even in the same term, and a worker
   * that saw the job end reads its state again for them.
   */
  readonly rerun?: number;
  /**
   * Attempts made before the entry was queued (absent: 0): a whole job's entry the leader handed to
   * the worker in its own process, whose run failed, is queued carrying that attempt
   * (local-handoff.ts), and counts it in its attempts made and allowed.
   */
  readonly priorAttempts?: number;
  /** The deployed version of the job type the job runs (JobRecord.version); absent: a folder's module. */
  readonly version?: number;
  /**
   * The W3C trace context of the split that placed the batch, when its job is traced: the worker's
   * `batch` span continues it (src/observability/tracing.ts). Absent: not traced.
   */
  readonly traceparent?: string;
  /**
   * A backup copy of an entry still running on another node (speculative execution,
   * docs/architecture.md §5): its worker checks while it runs whether the original stored first
   * (then stops), and announces when it stored first itself. Absent: not a copy; such an entry is
   * stopped only when a copy's announcement finds all its results stored.
   */
  readonly copy?: true;
}

/** What a worker needs to reduce and end a job of one entry: tasks 0 … total-1 are all in it. */
export interface WholeJob extends ReduceSpec {
  readonly resultTtlSec: number;
}

/**
 * The batch with other tasks (moved, or some already stored) and the term that places them now.
 * It no longer holds its whole job unless it keeps every task.
 */
export function rebatch(batch: TaskBatch, term: number, tasks: ReadonlyArray<readonly [number, unknown]>): TaskBatch {
  const { whole, ...rest } = batch;
  return whole !== undefined && tasks.length === whole.total ? { ...rest, whole, term, ...taskFields(tasks) } : { ...rest, term, ...taskFields(tasks) };
}

/** A batch's task fields for these tasks (at least one), in their order. */
export function taskFields(tasks: ReadonlyArray<readonly [number, unknown]>): Pick<TaskBatch, 'tasksJson' | 'taskCount' | 'firstTask' | 'lastTask'> {
  const [first] = tasks[0] as readonly [number, unknown];
  const [last] = tasks[tasks.length - 1] as readonly [number, unknown];
  return { tasksJson: JSON.stringify(tasks), taskCount: tasks.length, firstTask: first, lastTask: last };
}

/**
 * An entry read from a queue, in this version's form: an entry queued by an older scheduler, which
 * carried its tasks as a `tasks` array of pairs, gets the fields of TaskBatch.tasksJson (its data
 * replaced in place), so entries queued before an upgrade still run, move and count. An entry with
 * neither form is left as it is (its reader skips or fails it).
 */
export function upgradeEntry<E extends { data: TaskBatch }>(entry: E): E {
  const legacy = (entry.data as { tasks?: unknown } | undefined)?.tasks;
  if (entry.data?.tasksJson === undefined && Array.isArray(legacy) && legacy.length > 0) {
    const { tasks: _tasks, ...rest } = entry.data as TaskBatch & { tasks: unknown };
    entry.data = { ...rest, ...taskFields(legacy as ReadonlyArray<readonly [number, unknown]>) };
  }
  return entry;
}

/** The batch's tasks as `[index, payload]` pairs, parsed from its JSON. */
export function batchTasks(batch: Pick<TaskBatch, 'tasksJson'>): Array<readonly [number, unknown]> {
  return JSON.parse(batch.tasksJson) as Array<readonly [number, unknown]>;
}

/**
 * Deterministic BullMQ job id of a batch: re-enqueueing the same batch in the same term is a
 * no-op (docs/architecture.md §3). The term is part of it so that a new leader's batch never collides with
 * a stale one of an earlier term still waiting in a queue (which workers then refuse); the run
 * so that a retry's batch never collides with one of the failed run still in a queue.
 */
export function batchId(batch: Pick<TaskBatch, 'jobId' | 'term' | 'firstTask' | 'rerun'>): string {
  const run = batch.rerun ? `-r${batch.rerun}` : '';
  return `${batch.jobId}-${batch.firstTask}-t${batch.term}${run}`;
}

/** What makes a batch stale or not: the term that placed it and its last task. */
export interface BatchStamp {
  readonly term: number;
  readonly lastIndex: number;
}

export function batchStamp(batch: Pick<TaskBatch, 'term' | 'lastTask'>): BatchStamp {
  return { term: batch.term, lastIndex: batch.lastTask };
}

/** A leader's adoption of a job: from `term` on, tasks from `placed` are placed by it (start-job.lua). */
export interface Adoption {
  readonly term: number;
  readonly placed: number;
}

/** Parses the job hash's `adoptions` field, `term:placed,term:placed…` in ascending term order. */
export function parseAdoptions(field: string | null | undefined): Adoption[] {
  if (!field) return [];
  return field.split(',').map((pair) => {
    const [term, placed] = pair.split(':');
    return { term: Number(term), placed: Number(placed) };
  });
}

/**
 * Whether a batch is stamped with a stale term: a later leader adopted the job and re-places
 * every task from its adoption point, so a batch of an earlier term reaching past that point
 * may come from a deposed leader. Such a batch is refused; its tasks run from the adopter's.
 * Batches holding only tasks below the point were enqueued before a fenced checkpoint and stay.
 * The same rule runs in Lua where results are written (`isStaleBatch` in _fence.lua); this one
 * spares a worker the work and an evacuation the move.
 */
export function isStaleBatch(stamp: BatchStamp, adoptions: readonly Adoption[]): boolean {
  const superseding = adoptions.find((a) => a.term > stamp.term);
  return superseding !== undefined && stamp.lastIndex >= superseding.placed;
}

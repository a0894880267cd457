// The queue entry the scheduler enqueues for a worker node: a batch of one job's tasks.

export interface TaskBatch {
  readonly jobId: string;
  /** Job type name, looked up in the worker's registry. */
  readonly job: string;
  /** The scheduler leader's Raft term when it placed the batch (a fencing token, DESIGN §2). */
  readonly term: number;
  /** [task index, task payload] pairs, in ascending task order. */
  readonly tasks: ReadonlyArray<readonly [number, unknown]>;
  readonly taskTimeoutMs: number;
  readonly taskMemoryMb: number;
}

/**
 * Deterministic BullMQ job id of a batch: re-enqueueing the same batch in the same term is a
 * no-op (DESIGN §3). The term is part of it so that a new leader's batch never collides with
 * a stale one of an earlier term still waiting in a queue (which workers then refuse).
 */
export function batchId(jobId: string, term: number, firstTaskIndex: number): string {
  return `${jobId}-${firstTaskIndex}-t${term}`;
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
 */
export function isStaleBatch(batch: Pick<TaskBatch, 'term' | 'tasks'>, adoptions: readonly Adoption[]): boolean {
  const superseding = adoptions.find((a) => a.term > batch.term);
  if (superseding === undefined) return false;
  return batch.tasks.some(([index]) => index >= superseding.placed);
}

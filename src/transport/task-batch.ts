// The queue entry the scheduler enqueues for a worker node: a batch of one job's tasks.

export interface TaskBatch {
  readonly jobId: string;
  /** Job type name, looked up in the worker's registry. */
  readonly job: string;
  /** The scheduler leader's Raft term when it placed the batch (a fencing token, DESIGN §2). */
  readonly term: number;
  /** [task index, task payload] pairs. */
  readonly tasks: ReadonlyArray<readonly [number, unknown]>;
  readonly taskTimeoutMs: number;
  readonly taskMemoryMb: number;
}

/** Deterministic BullMQ job id of a batch: re-enqueueing the same batch is a no-op (DESIGN §3). */
export function batchId(jobId: string, firstTaskIndex: number): string {
  return `${jobId}-${firstTaskIndex}`;
}

// The shared memory between a task pool's run (main thread) and its thread calls: claims, stops, progress.

/**
 * One run of a batch is a few thread calls that share its tasks: each call takes the next
 * `chunk` tasks with an atomic add on the claim cursor until none are left, so the threads
 * stay busy without a round trip through the main thread between tasks, and a call that
 * stops or dies loses only the task it was running. Int32 cells:
 *
 *   [0]            claim cursor: position of the next task to claim
 *   [1 + 3k]       call k's stop flag: 1 asks its task to stop (cancel, or past its time limit)
 *   [2 + 3k]       tasks call k has started (-1 while it waits for a thread, 0 while it loads,
 *                  REDUCING once its tasks are done and it reduces their results)
 *   [3 + 3k]       position of the task call k runs now (-1 before its first)
 */
export const CLAIM_CURSOR = 0;

/**
 * The `started` cell of a call that reduces its run's results (a job of one queue entry): the
 * reduce has no task time limit, as on the scheduler, and a thread that dies now died in it.
 */
export const REDUCING = -2;

export interface CallCells {
  readonly stop: number;
  readonly started: number;
  readonly current: number;
}

export function callCells(slot: number): CallCells {
  const base = 1 + 3 * slot;
  return { stop: base, started: base + 1, current: base + 2 };
}

/** Cells for `calls` calls, each waiting for a thread and running nothing yet. */
export function createRunControl(calls: number): Int32Array {
  const cells = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (1 + 3 * calls)));
  for (let slot = 0; slot < calls; slot++) {
    const c = callCells(slot);
    cells[c.started] = -1;
    cells[c.current] = -1;
  }
  return cells;
}

// Results this process's worker stored, told to this process's scheduler: a split waiting for room in its job's window looks again at once.
/**
 * Why: a split whose job's window is full waits for results (docs/architecture.md §5, back-pressure
 * and fair share). Polling the job's record every 10 ms cost the leader's main thread a read and a
 * parse each time (about a ninth of the node's main-thread CPU in a profile of the `speedup` bench's
 * jobs), on the cores the task threads run on. Where the job's tasks all run on this process's worker (`ringpool start`, a
 * sole node), its results' writes are seen here: each one wakes the wait, and the poll is only a
 * safety net. A wait on other nodes' results still polls; writes here wake it sooner.
 *
 * Only a hint to look again: the job's record read after it is what the split goes by.
 */
export class LocalProgress {
  /** The id of the worker node in this process: the node whose writes are told here. */
  readonly workerId: string;
  /** Job id → the waits to wake at its next write. */
  readonly #waiting = new Map<string, Array<() => void>>();

  constructor(workerId: string) {
    this.workerId = workerId;
  }

  /** This process's worker wrote results (or failures) of the job, or was told it was cancelled: its waits look again. */
  changed(jobId: string): void {
    const waits = this.#waiting.get(jobId);
    if (waits === undefined) return;
    this.#waiting.delete(jobId);
    for (const wake of waits) wake();
  }

  /** Resolves at the job's next write here, or after `ms` at the latest. */
  next(jobId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waits = this.#waiting.get(jobId);
      if (waits === undefined) this.#waiting.set(jobId, (waits = []));
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const left = this.#waiting.get(jobId)?.filter((w) => w !== wake);
        if (left === undefined || left.length === 0) this.#waiting.delete(jobId);
        else this.#waiting.set(jobId, left);
        resolve();
      }, ms);
      waits.push(wake);
    });
  }
}

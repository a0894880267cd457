// A short whole job's only entry, handed by this process's leader to this process's worker instead of through the worker's queue.
import type { TaskBatch } from './task-batch.js';

/** What the worker reads of an entry, handed or delivered by BullMQ (whose `Job` has these fields). */
export interface HandedEntry {
  readonly id?: string | undefined;
  readonly data: TaskBatch;
  readonly attemptsMade: number;
  readonly opts: { readonly attempts?: number | undefined };
  /** When it was enqueued, and when a node took it (ms since the epoch). */
  readonly timestamp: number;
  readonly processedOn?: number | undefined;
}

/** Task time (measured, per job type) up to which a whole job is handed: longer ones gain nothing worth losing the queue's view of them. */
export const HANDED_MAX_MICROS = 1_000_000;

/**
 * Why: in a process that runs the leader and the worker (`ringpool start`), a one-task job's entry
 * went leader → `Queue.add` → Redis → the worker's blocking pop, woken by BullMQ's marker →
 * `moveToActive` → the thread → `moveToFinished`, and the leader recorded the split (a script and a
 * `WAIT`) beside it: on this kind of machine a socket write costs more than the task, and those were
 * six of a small job's thirteen, with two round trips in its path (docs/performance.md, `latency`).
 *
 * A whole job's only entry (`TaskBatch.whole`) of a type whose tasks are measured short is handed to
 * the worker here when it has a thread free, and runs at once, exactly as a delivered entry would
 * (the same fenced, first-write-wins results write, which ends the job). No queue entry and no
 * split checkpoint are written: the job's record, running with no recorded split, is what makes it
 * recoverable. If this process dies, the next leader finds the job running and unsplit and splits it
 * again (docs/architecture.md §5, §6); if this leader is deposed meanwhile, the adopter does the same
 * and the handed entry's write is refused as stale (§2). The leader waits for the run: a run that
 * did not end the job (a reduce that failed in the thread, a stale batch) gets its split recorded as
 * before; one that failed (a task to retry, Redis trouble) becomes a queue entry that carries the
 * attempt made (`TaskBatch.priorAttempts`), so the queue retries it as often as the job allows, no more.
 */
export class LocalHandoff {
  /** The worker of this process; undefined until it serves and once it stops. */
  #worker: { readonly nodeId: string; canTake(): boolean; run(entry: HandedEntry): Promise<boolean> } | undefined;
  readonly #running = new Set<Promise<boolean>>();

  /** The worker `nodeId` runs what it is handed while `canTake()`; `run` resolves true if its write ended the job. */
  serve(nodeId: string, canTake: () => boolean, run: (entry: HandedEntry) => Promise<boolean>): void {
    this.#worker = { nodeId, canTake, run };
  }

  /** The worker stops taking entries (closing). */
  stop(): void {
    this.#worker = undefined;
  }

  /**
   * By the leader, for a whole job's only entry bound for `node` (`attempts`: the job's): its run
   * here, started now, if this process's worker is that node and has a thread free; else
   * undefined, and the entry goes through the queue. Resolves true if the run's write ended the job.
   */
  take(node: string, data: TaskBatch, attempts: number | undefined): Promise<boolean> | undefined {
    const worker = this.#worker;
    if (worker === undefined || worker.nodeId !== node || data.whole === undefined || !worker.canTake()) return undefined;
    const now = Date.now();
    const run = worker.run({ data, attemptsMade: 0, opts: { attempts }, timestamp: now, processedOn: now });
    this.#running.add(run);
    const forget = () => void this.#running.delete(run);
    run.then(forget, forget);
    return run;
  }

  /** Resolves when every handed run has ended (a closing worker waits for them as for its queue's). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }
}

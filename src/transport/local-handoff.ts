// A whole job's only entry, handed by this process's leader to this process's worker as it is enqueued: the task starts without waiting for the queue to deliver it.
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

/** Handed runs kept for the queue's delivery at most this long (an entry moved to another node is never delivered here). */
const KEEP_MS = 60_000;
/** And at most this many (the oldest go first). */
const MAX_KEPT = 1_000;

/**
 * Why: in a process that runs the leader and the worker (`ringpool start`), a one-task job's entry
 * went leader → `Queue.add` → Redis → the worker's blocking pop woken by BullMQ's marker →
 * `moveToActive` → the thread: two round trips and a wake-up between the split and the task's start,
 * about a quarter of a small job's time in the node (docs/performance.md, `latency`).
 *
 * Now the leader still adds the entry (it is the durable copy: a node that dies before the result
 * is written leaves it queued, and it is moved and run elsewhere as any other), and at the same time
 * hands it here. If the worker is the entry's node and has a thread free, it runs the entry at once,
 * exactly as a delivered one (the same fenced, first-write-wins results write). When the queue then
 * delivers the entry, the handed run stands for the delivery's first attempt: its end is the
 * delivery's, its error the delivery's error (the queue retries as it would have). So nothing the
 * queue guarantees is lost, and a task never runs twice into a result (docs/architecture.md §3, §5).
 *
 * Only whole-job entries (`TaskBatch.whole`) and only onto an idle thread: the queue's own
 * back-pressure (concurrency) still bounds every other entry.
 */
export class LocalHandoff {
  /** The worker of this process; undefined until it serves. */
  #worker: { readonly nodeId: string; canTake(): boolean; run(entry: HandedEntry): Promise<void> } | undefined;
  /** Entry id → its run here, and when it started. */
  readonly #handed = new Map<string, { readonly at: number; readonly run: Promise<void> }>();

  /** The worker `nodeId` runs what it is handed (`run`) while `canTake()`. */
  serve(nodeId: string, canTake: () => boolean, run: (entry: HandedEntry) => Promise<void>): void {
    this.#worker = { nodeId, canTake, run };
  }

  /** The worker stops taking entries (closing, draining). */
  stop(): void {
    this.#worker = undefined;
  }

  /**
   * By the leader, for an entry it is adding to `node`'s queue (`id`: the entry's id there): run
   * here now if this process's worker is that node, the entry is a whole job, and a thread is free.
   */
  offer(node: string, id: string, data: TaskBatch, attempts: number | undefined): void {
    const worker = this.#worker;
    if (worker === undefined || worker.nodeId !== node || data.whole === undefined || this.#handed.has(id) || !worker.canTake()) return;
    this.#forgetStale();
    const now = Date.now();
    const run = worker.run({ id, data, attemptsMade: 0, opts: { attempts }, timestamp: now, processedOn: now });
    run.catch(() => {}); // its outcome is the delivery's (claim)
    this.#handed.set(id, { at: now, run });
  }

  /**
   * By the worker, for an entry its queue delivered: the run started from the leader's hand, if
   * there was one. Its outcome is the delivery's first attempt: an error (a task to retry, Redis
   * trouble) is thrown from the delivery, and the queue retries the entry as it would have.
   */
  claim(id: string): Promise<void> | undefined {
    const handed = this.#handed.get(id);
    if (handed === undefined) return undefined;
    this.#handed.delete(id);
    return handed.run;
  }

  /** Resolves when every handed run has ended (a closing worker waits for them as for its queue's). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#handed.values()].map((h) => h.run));
  }

  #forgetStale(): void {
    const before = Date.now() - KEEP_MS;
    for (const [id, handed] of this.#handed) {
      if (handed.at >= before && this.#handed.size < MAX_KEPT) break; // insertion order: the rest are younger
      this.#handed.delete(id);
    }
  }
}

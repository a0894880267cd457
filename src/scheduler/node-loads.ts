// In-flight tasks per worker node as the leader sees them: placed by it, not yet stored (docs/architecture.md §5).
import { slownessOf } from './node-speeds.js';

/**
 * The loads bounded placement is checked against (`HashRing.ownerOfBounded`): per node, the tasks
 * this leader placed there and whose results are not stored yet. Kept from what the leader
 * already has: it counts each task it places, and subtracts the stored results per node that the
 * job's record carries (`JobRecord.tasksPerNode`, written by the result script), read at each
 * split checkpoint and by the membership loop. No extra message from the workers.
 *
 * A task stored by another node than its own (moved, stolen) lowers that other node's count, never
 * below zero for the job; the error is bounded by the job's moved tasks and lasts until it ends.
 */
export class NodeLoads {
  /** Job id → node → tasks placed there by this leader. */
  readonly #placed = new Map<string, Map<string, number>>();
  /** Job id → node → results stored from that node (the job record's `tasksPerNode`). */
  readonly #stored = new Map<string, Readonly<Record<string, number>>>();
  /** Node → in-flight tasks over every job: the sum of max(0, placed − stored), kept up to date. */
  readonly #loads = new Map<string, number>();
  /** Node → how many times slower than the fastest it ran the tasks of the job last acknowledged with samples from it (node-speeds.ts). */
  readonly #slowness = new Map<string, number>();
  /** Node → in-flight tasks × its slowness: the work it holds in the fastest node's time, kept up to date. */
  readonly #weighted = new Map<string, number>();

  /** The live map `ownerOfBounded` reads (node → in-flight tasks); do not modify it. */
  get loads(): ReadonlyMap<string, number> {
    return this.#loads;
  }

  /**
   * The live map of in-flight loads weighted by slowness (node → tasks × slowness): checked
   * against the same bounded-load caps, a node 4× slower than the others takes about a quarter of
   * their in-flight tasks, so what it holds takes about as long to drain as theirs (stragglers,
   * docs/architecture.md §5). Equal to `loads` while no node is measured slower. Do not modify it.
   */
  get weightedLoads(): ReadonlyMap<string, number> {
    return this.#weighted;
  }

  /** Node → slowness as last measured (absent: 1, not measured or as fast as the fastest). */
  get slowness(): ReadonlyMap<string, number> {
    return this.#slowness;
  }

  /** Jobs with tasks counted here. */
  jobs(): string[] {
    return [...this.#placed.keys()];
  }

  /** `count` tasks of `jobId` placed on `node` (one by default). */
  placed(jobId: string, node: string, count = 1): void {
    let byNode = this.#placed.get(jobId);
    if (byNode === undefined) this.#placed.set(jobId, (byNode = new Map()));
    const before = byNode.get(node) ?? 0;
    byNode.set(node, before + count);
    const stored = this.#stored.get(jobId)?.[node];
    const delta = inFlight(before + count, stored) - inFlight(before, stored);
    if (delta !== 0) this.#add(node, delta);
  }

  /**
   * Tasks of `jobId` placed one by one (`add`), counted in their node's load together (`flush`):
   * one update for a split's run of tasks to one node instead of one per task. The caller flushes
   * before anything else may read the loads (before each await).
   */
  tally(jobId: string): { add(node: string): void; flush(): void } {
    let node: string | undefined;
    let count = 0;
    const flush = () => {
      if (node !== undefined && count > 0) this.placed(jobId, node, count);
      count = 0;
    };
    const add = (to: string) => {
      if (to !== node) flush();
      node = to;
      count++;
    };
    return { add, flush };
  }

  /**
   * The job's stored results per node, as its record says now (counts only grow), and their run
   * time per node (µs summed): nodes with enough results of this job get their slowness from it.
   */
  acknowledge(jobId: string, storedPerNode: Readonly<Record<string, number>>, runMicrosPerNode: Readonly<Record<string, number>> = {}): void {
    const byNode = this.#placed.get(jobId);
    if (byNode === undefined) return;
    for (const [node, slowness] of slownessOf(storedPerNode, runMicrosPerNode)) {
      if (slowness === 1) this.#slowness.delete(node);
      else this.#slowness.set(node, slowness);
      this.#weigh(node);
    }
    const previous = this.#stored.get(jobId) ?? {};
    for (const [node, placed] of byNode) {
      const delta = inFlight(placed, storedPerNode[node]) - inFlight(placed, previous[node]);
      if (delta !== 0) this.#add(node, delta);
    }
    this.#stored.set(jobId, storedPerNode);
  }

  /** The job ended (or is no longer this leader's): its tasks stop counting. */
  forget(jobId: string): void {
    const byNode = this.#placed.get(jobId);
    if (byNode === undefined) return;
    const stored = this.#stored.get(jobId) ?? {};
    for (const [node, placed] of byNode) this.#add(node, -inFlight(placed, stored[node]));
    this.#placed.delete(jobId);
    this.#stored.delete(jobId);
  }

  #add(node: string, delta: number): void {
    const next = (this.#loads.get(node) ?? 0) + delta;
    if (next <= 0) this.#loads.delete(node);
    else this.#loads.set(node, next);
    this.#weigh(node);
  }

  #weigh(node: string): void {
    const load = this.#loads.get(node);
    if (load === undefined) this.#weighted.delete(node);
    else this.#weighted.set(node, load * (this.#slowness.get(node) ?? 1));
  }
}

function inFlight(placed: number, stored: number | undefined): number {
  return Math.max(0, placed - (stored ?? 0));
}

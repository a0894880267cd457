// In-flight tasks per worker node as the leader sees them: placed by it, not yet stored (docs/architecture.md §5).

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

  /** The live map `ownerOfBounded` reads (node → in-flight tasks); do not modify it. */
  get loads(): ReadonlyMap<string, number> {
    return this.#loads;
  }

  /** Jobs with tasks counted here. */
  jobs(): string[] {
    return [...this.#placed.keys()];
  }

  /** One task of `jobId` placed on `node`. */
  placed(jobId: string, node: string): void {
    let byNode = this.#placed.get(jobId);
    if (byNode === undefined) this.#placed.set(jobId, (byNode = new Map()));
    const before = byNode.get(node) ?? 0;
    byNode.set(node, before + 1);
    if (before + 1 > (this.#stored.get(jobId)?.[node] ?? 0)) this.#add(node, 1);
  }

  /** The job's stored results per node, as its record says now (counts only grow). */
  acknowledge(jobId: string, storedPerNode: Readonly<Record<string, number>>): void {
    const byNode = this.#placed.get(jobId);
    if (byNode === undefined) return;
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
  }
}

function inFlight(placed: number, stored: number | undefined): number {
  return Math.max(0, placed - (stored ?? 0));
}

// Where a job's keys were placed: a key's next tasks follow its earlier ones while that node has room (docs/architecture.md §5, bounded loads).

/**
 * Why: bounded placement (`HashRing.ownerOfBounded`) decides task by task. When a key's owner is
 * at its cap, that one task goes to the next node along the ring, and the key's next task goes
 * back to the owner as soon as it has room again: under a steady stream of interleaved keys every
 * key of a busy node ends up split over two or three nodes, and each of them loads the key into
 * its cache (the placement bench's `built` counts). Remembering where a key went makes a spilled
 * key move whole: its later tasks stay on the node that already holds it while that node is under
 * its own cap, so the bound still holds and each key is loaded on as few nodes as the bound allows.
 *
 * Kept per split (one job, one leader): a new leader starts with none, which costs cache misses,
 * never correctness. Bounded by `maxKeys`: past it the oldest keys are forgotten first.
 */
export class KeyAffinity {
  readonly maxKeys: number;
  readonly #nodeOf = new Map<string, string>();

  /** `maxKeys`: keys remembered at most (a job keyed by a unique id per task must not grow this without end). @default 100000 */
  constructor(maxKeys = DEFAULT_AFFINITY_KEYS) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be an integer >= 1, got ${maxKeys}`);
    this.maxKeys = maxKeys;
  }

  /** The node the key's last task went to, if remembered. */
  nodeOf(key: string): string | undefined {
    return this.#nodeOf.get(key);
  }

  /** The key's task went to `node`. */
  remember(key: string, node: string): void {
    if (this.#nodeOf.get(key) === node) return;
    this.#nodeOf.delete(key); // re-inserted last: the Map's order is the order keys last moved
    this.#nodeOf.set(key, node);
    if (this.#nodeOf.size > this.maxKeys) this.#nodeOf.delete(this.#nodeOf.keys().next().value as string);
  }

  get size(): number {
    return this.#nodeOf.size;
  }
}

/** Keys one split remembers at most: 100,000 keys of ~40 characters and a node id is a few MB. */
export const DEFAULT_AFFINITY_KEYS = 100_000;

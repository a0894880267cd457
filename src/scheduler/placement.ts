// Task key → worker node: the ring for the current membership, rebuilt only when membership changes.
import { RingpoolError } from '../errors.js';
import { HashRing } from '../ring/index.js';
import type { MemberNode } from './membership.js';

export class Placement {
  #ring: HashRing = HashRing.build([]);
  #fingerprint = '';
  /** Cap on a node's in-flight tasks, × the mean (`--load-bound`); 0: keys go to their owner whatever its load. */
  readonly loadBound: number;

  /** `loadBound`: 0, or a factor >= 1 (docs/architecture.md §5, bounded loads). @default 1.25 */
  constructor(loadBound = DEFAULT_LOAD_BOUND) {
    if (loadBound !== 0 && !(loadBound >= 1 && Number.isFinite(loadBound))) {
      throw new RingpoolError('CONFIG', `loadBound must be 0 (placement by the ring alone) or a number >= 1 such as 1.25, got ${loadBound}`);
    }
    this.loadBound = loadBound;
  }

  /** The ring for these nodes (the same value while membership is unchanged). */
  ringFor(nodes: readonly MemberNode[]): HashRing {
    const fingerprint = nodes.map((n) => `${n.id}=${n.weight}`).join(',');
    if (fingerprint !== this.#fingerprint) {
      this.#ring = HashRing.build(nodes.map((n) => ({ id: n.id, weight: n.weight })), this.loadBound === 0 ? {} : { loadFactor: this.loadBound });
      this.#fingerprint = fingerprint;
    }
    return this.#ring;
  }

  /** The node for a task key: its owner, passed on along the ring while that node is at its cap (when bounded). */
  place(ring: HashRing, key: string, loads: ReadonlyMap<string, number>): string | undefined {
    return placeTask(ring, key, this.loadBound === 0 ? undefined : loads);
  }
}

/** The default `--load-bound`: a node holds at most 1.25 × the mean in-flight tasks (weighted by threads). */
export const DEFAULT_LOAD_BOUND = 1.25;

/** The node a task goes to: its key's owner, passed on when that node is at its load cap. */
export function placeTask(ring: HashRing, key: string, loads?: ReadonlyMap<string, number>): string | undefined {
  return loads === undefined ? ring.ownerOf(key) : ring.ownerOfBounded(key, loads);
}

/** A task's placement key: the module's `keyOf`, or `jobId:index` by default. */
export function taskKey(keyOf: ((task: unknown, index: number) => string) | undefined, jobId: string, index: number, task: unknown): string {
  return keyOf ? keyOf(task, index) : `${jobId}:${index}`;
}

// Task key → worker node: the ring for the current membership, rebuilt only when membership changes.
import { HashRing } from '../ring/index.js';
import type { MemberNode } from './membership.js';

export class Placement {
  #ring: HashRing = HashRing.build([]);
  #fingerprint = '';

  /** The ring for these nodes (the same value while membership is unchanged). */
  ringFor(nodes: readonly MemberNode[]): HashRing {
    const fingerprint = nodes.map((n) => `${n.id}=${n.weight}`).join(',');
    if (fingerprint !== this.#fingerprint) {
      this.#ring = HashRing.build(nodes.map((n) => ({ id: n.id, weight: n.weight })));
      this.#fingerprint = fingerprint;
    }
    return this.#ring;
  }
}

/** The node a task goes to: its key's owner, passed on when that node is at its load cap. */
export function placeTask(ring: HashRing, key: string, loads?: ReadonlyMap<string, number>): string | undefined {
  return loads === undefined ? ring.ownerOf(key) : ring.ownerOfBounded(key, loads);
}

/** A task's placement key: the module's `keyOf`, or `jobId:index` by default. */
export function taskKey(keyOf: ((task: unknown, index: number) => string) | undefined, jobId: string, index: number, task: unknown): string {
  return keyOf ? keyOf(task, index) : `${jobId}:${index}`;
}

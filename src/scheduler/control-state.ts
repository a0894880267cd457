// The control plane's replicated state (docs/architecture.md §1): the worker membership the ring is built from.
import type { MemberNode } from './membership.js';

export type ControlCommand =
  /** The leader's view of the live worker nodes; the ring is built from exactly this list. */
  | { readonly type: 'set-members'; readonly members: readonly MemberNode[] }
  /** The tasks of a node that left the ring have been moved: it needs nothing more. */
  | { readonly type: 'evacuated'; readonly node: string }
  | { readonly type: 'noop' };

export interface ControlSnapshot {
  readonly members: readonly MemberNode[];
  /** Nodes that left the ring and whose queued tasks may still have to move. */
  readonly retired: readonly string[];
  /** Bumped by every change of membership: the ring version the dashboard shows. */
  readonly ringVersion: number;
}

/** Pure and deterministic: every scheduler that applies the same entries holds the same state. */
export class ControlState {
  #members: readonly MemberNode[] = [];
  #retired = new Set<string>();
  #ringVersion = 0;
  #listeners = new Set<(state: ControlSnapshot) => void>();

  apply(command: ControlCommand): void {
    switch (command.type) {
      case 'set-members': {
        const next = [...command.members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        if (sameMembers(next, this.#members)) return;
        for (const old of this.#members) if (!next.some((m) => m.id === old.id)) this.#retired.add(old.id);
        for (const m of next) this.#retired.delete(m.id);
        this.#members = Object.freeze(next);
        this.#ringVersion++;
        break;
      }
      case 'evacuated':
        if (!this.#retired.delete(command.node)) return;
        break;
      case 'noop':
        return;
    }
    const snapshot = this.snapshot();
    for (const listener of this.#listeners) listener(snapshot);
  }

  /** The nodes on the ring (a draining node is left out by the leader's proposal). */
  placeable(): readonly MemberNode[] {
    return this.#members;
  }

  snapshot(): ControlSnapshot {
    return { members: this.#members, retired: [...this.#retired].sort(), ringVersion: this.#ringVersion };
  }

  restore(snapshot: ControlSnapshot): void {
    this.#members = Object.freeze([...snapshot.members]);
    this.#retired = new Set(snapshot.retired ?? []);
    this.#ringVersion = snapshot.ringVersion;
  }

  onChange(listener: (state: ControlSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function sameMembers(a: readonly MemberNode[], b: readonly MemberNode[]): boolean {
  return a.length === b.length && a.every((m, i) => m.id === b[i]?.id && m.weight === b[i]?.weight);
}

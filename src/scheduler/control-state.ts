// The control plane's replicated state (DESIGN §1): worker membership and drain flags, applied from Raft entries.
import type { MemberNode } from './membership.js';

export type ControlCommand =
  /** The leader's view of the live worker nodes; the ring is built from exactly this list. */
  | { readonly type: 'set-members'; readonly members: readonly MemberNode[] }
  /** A node asked to drain: it gets no new tasks and its waiting ones move. */
  | { readonly type: 'drain'; readonly node: string }
  | { readonly type: 'noop' };

export interface ControlSnapshot {
  readonly members: readonly MemberNode[];
  readonly draining: readonly string[];
  /** Bumped by every change of membership: the ring version the dashboard shows. */
  readonly ringVersion: number;
}

/** Pure and deterministic: every scheduler that applies the same entries holds the same state. */
export class ControlState {
  #members: readonly MemberNode[] = [];
  #draining = new Set<string>();
  #ringVersion = 0;
  #listeners = new Set<(state: ControlSnapshot) => void>();

  apply(command: ControlCommand): void {
    switch (command.type) {
      case 'set-members': {
        const next = [...command.members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        if (sameMembers(next, this.#members)) return;
        this.#members = Object.freeze(next);
        // A node that left for good no longer needs its drain flag.
        for (const id of this.#draining) if (!next.some((m) => m.id === id)) this.#draining.delete(id);
        this.#ringVersion++;
        break;
      }
      case 'drain':
        if (this.#draining.has(command.node)) return;
        this.#draining.add(command.node);
        break;
      case 'noop':
        return;
    }
    const snapshot = this.snapshot();
    for (const listener of this.#listeners) listener(snapshot);
  }

  /** Members that take new tasks: on the ring and not draining. */
  placeable(): readonly MemberNode[] {
    return this.#members.filter((m) => !this.#draining.has(m.id));
  }

  snapshot(): ControlSnapshot {
    return { members: this.#members, draining: [...this.#draining].sort(), ringVersion: this.#ringVersion };
  }

  restore(snapshot: ControlSnapshot): void {
    this.#members = Object.freeze([...snapshot.members]);
    this.#draining = new Set(snapshot.draining);
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

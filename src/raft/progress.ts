// What a leader knows about each follower's log, and how it paces replication to it (etcd's Progress).

/**
 * probe: one AppendEntries at a time until the follower's match is found;
 * replicate: optimistic pipelining, `next` runs ahead of acknowledgements;
 * snapshot: a snapshot is on its way, nothing else is sent until it is acknowledged.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding, wait for an answer or the next heartbeat. */
  probeSent = false;
  pendingSnapshot = 0;
  /** Ticks since the snapshot was sent; it is resent if unanswered for an election timeout. */
  ticksSinceSnapshot = 0;
  /** Heard from in the current CheckQuorum window (thesis §6.2). */
  recentActive = false;
  /** Ticks since the follower last answered; for status reporting only. */
  ticksSinceContact: number | undefined = undefined;

  constructor(next: number) {
    this.next = next;
  }

  isPaused(): boolean {
    return this.state === 'snapshot' || (this.state === 'probe' && this.probeSent);
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    else this.next = this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.ticksSinceSnapshot = 0;
    this.probeSent = false;
  }

  /** A successful append response up to `index`; false when it says nothing new (stale or duplicate). */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** A rejected append at `rejected`; `hint` is the highest index that may match. False when stale. */
  maybeDecreaseTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }
}

// The in-memory Raft log: a snapshot followed by entries, with commit, apply and persistence marks.
import type { ConfState, Entry, Snapshot } from './types.js';

/** The snapshot a node starts from before anything was ever compacted. */
export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({ index: 0, term: 0, conf: Object.freeze({ voters: Object.freeze([]) }), data: null });

/**
 * Index arithmetic lives here so the core reads like the paper. Invariants: entries are contiguous
 * from snapshot.index + 1; applied ≤ committed ≤ lastIndex; stableIndex ≤ lastIndex.
 */
export class RaftLog {
  #snapshot: Snapshot;
  #entries: Entry[];
  #committed: number;
  #applied: number;
  /** Entries up to here are on stable storage; later ones are handed out in the next Ready. */
  #stableIndex: number;
  /** A snapshot received from the leader that the caller has not persisted yet. */
  #pendingSnapshot: Snapshot | undefined;
  /** The configuration in force (the last config entry in the log, else the snapshot's) and its index. */
  #conf: ConfState;
  #confIndex: number;

  constructor(snapshot: Snapshot, entries: readonly Entry[], committed: number) {
    this.#snapshot = snapshot;
    this.#entries = [...entries];
    entries.forEach((e, i) => {
      if (e.index !== snapshot.index + 1 + i) throw new RangeError(`log entries must be contiguous after snapshot ${snapshot.index}; entry ${i} has index ${e.index}`);
    });
    this.#committed = Math.min(Math.max(committed, snapshot.index), this.lastIndex());
    this.#applied = snapshot.index;
    this.#stableIndex = this.lastIndex();
    this.#pendingSnapshot = undefined;
    this.#conf = snapshot.conf;
    this.#confIndex = snapshot.index;
    this.#recomputeConf();
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }
  get committed(): number {
    return this.#committed;
  }
  get applied(): number {
    return this.#applied;
  }
  get stableIndex(): number {
    return this.#stableIndex;
  }
  get pendingSnapshot(): Snapshot | undefined {
    return this.#pendingSnapshot;
  }
  get conf(): ConfState {
    return this.#conf;
  }
  get confIndex(): number {
    return this.#confIndex;
  }

  firstIndex(): number {
    return this.#snapshot.index + 1;
  }

  lastIndex(): number {
    return this.#snapshot.index + this.#entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of the entry at `index`; undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.#snapshot.index) return this.#snapshot.term;
    if (index < this.#snapshot.index || index > this.lastIndex()) return undefined;
    return this.#entries[index - this.firstIndex()]?.term;
  }

  entry(index: number): Entry | undefined {
    if (index < this.firstIndex()) return undefined;
    return this.#entries[index - this.firstIndex()];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft §5.4.1: a log is at least as up-to-date if its last term is higher, or equal with an index at least as long. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myLastTerm = this.lastTerm();
    return lastTerm > myLastTerm || (lastTerm === myLastTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi), never reaching into the snapshot. */
  slice(lo: number, hi: number): Entry[] {
    const from = Math.max(lo, this.firstIndex()) - this.firstIndex();
    const to = Math.min(hi, this.lastIndex() + 1) - this.firstIndex();
    return to > from ? this.#entries.slice(from, to) : [];
  }

  /** Leader-side append of fresh entries at the end. */
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) throw new RangeError(`append expected index ${this.lastIndex() + 1}, got ${e.index}`);
      this.#entries.push(e);
      if (e.kind === 'config') this.#setConf(e.conf, e.index);
    }
  }

  /**
   * Follower-side AppendEntries (Raft §5.3): if the log holds prevIndex with prevTerm, delete the first
   * conflicting entry and all after it, append what is new, and advance commit to
   * min(leaderCommit, index of last new entry). Returns that last new index, or undefined on mismatch.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + entries.length;
    const conflict = this.#findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.#committed) throw new Error(`log conflict at ${conflict} is at or below the commit index ${this.#committed}: Raft safety is broken`);
      const offset = conflict - (prevIndex + 1);
      this.#truncateFrom(conflict);
      this.append(entries.slice(offset));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return lastNewIndex;
  }

  /** The first index whose term differs from ours (or that we lack); 0 when everything is already there. */
  #findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (e.index < this.firstIndex()) continue; // covered by our snapshot, hence committed and equal
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * For a rejected AppendEntries: the largest index ≤ `index` whose term is ≤ `term`, with that term, so a
   * whole term of mismatching entries is skipped at once (Raft §5.3, last paragraphs).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = Math.min(index, this.lastIndex()); i > this.#snapshot.index; i--) {
      const t = this.term(i) ?? 0;
      if (t <= term) return { index: i, term: t };
    }
    return { index: this.#snapshot.index, term: this.#snapshot.term };
  }

  #truncateFrom(index: number): void {
    this.#entries.length = index - this.firstIndex();
    this.#stableIndex = Math.min(this.#stableIndex, index - 1);
    if (this.#confIndex >= index) this.#recomputeConf();
  }

  commitTo(index: number): void {
    if (index <= this.#committed) return;
    if (index > this.lastIndex()) throw new RangeError(`commit ${index} is beyond the last index ${this.lastIndex()}`);
    this.#committed = index;
  }

  /** Committed entries not yet handed out for applying. */
  nextCommittedEntries(): Entry[] {
    return this.slice(this.#applied + 1, this.#committed + 1);
  }

  hasNextCommittedEntries(): boolean {
    return this.#committed > this.#applied;
  }

  unstableEntries(): Entry[] {
    return this.slice(this.#stableIndex + 1, this.lastIndex() + 1);
  }

  appliedTo(index: number): void {
    if (index < this.#applied || index > this.#committed) throw new RangeError(`applied ${index} must be in [${this.#applied}, ${this.#committed}]`);
    this.#applied = index;
  }

  stableTo(index: number): void {
    this.#stableIndex = Math.max(this.#stableIndex, Math.min(index, this.lastIndex()));
  }

  snapshotStable(): void {
    this.#pendingSnapshot = undefined;
  }

  /** Replace the whole log by a snapshot from the leader (Raft §7): everything it covers is committed. */
  restore(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    this.#entries = [];
    this.#committed = snapshot.index;
    this.#applied = snapshot.index;
    this.#stableIndex = snapshot.index;
    this.#pendingSnapshot = snapshot;
    this.#conf = snapshot.conf;
    this.#confIndex = snapshot.index;
  }

  /** Local compaction (Raft §7): forget entries up to `index`, which must be applied. */
  compact(index: number, data: unknown): Snapshot {
    if (index <= this.#snapshot.index) throw new RangeError(`compact index ${index} is not after the current snapshot ${this.#snapshot.index}`);
    if (index > this.#applied) throw new RangeError(`compact index ${index} is beyond the applied index ${this.#applied}`);
    const term = this.term(index);
    if (term === undefined) throw new RangeError(`no entry at compact index ${index}`);
    const snapshot: Snapshot = { index, term, conf: this.confAt(index), data };
    this.#entries = this.#entries.slice(index - this.#snapshot.index);
    this.#snapshot = snapshot;
    return snapshot;
  }

  /** The configuration in force at `index`: the last config entry at or before it, else the snapshot's. */
  confAt(index: number): ConfState {
    for (let i = Math.min(index, this.lastIndex()); i > this.#snapshot.index; i--) {
      const e = this.entry(i);
      if (e?.kind === 'config') return e.conf;
    }
    return this.#snapshot.conf;
  }

  #setConf(conf: ConfState, index: number): void {
    this.#conf = conf;
    this.#confIndex = index;
  }

  #recomputeConf(): void {
    this.#conf = this.#snapshot.conf;
    this.#confIndex = this.#snapshot.index;
    for (let i = this.lastIndex(); i > this.#snapshot.index; i--) {
      const e = this.entry(i);
      if (e?.kind === 'config') {
        this.#setConf(e.conf, i);
        return;
      }
    }
  }
}

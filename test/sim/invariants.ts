// The Raft safety properties (Raft §5.2–5.4, Figure 3), checked by the simulation after every step.
import type { RaftCore } from '../../src/raft/core.js';
import type { Entry, HardState, NodeId, RaftMessage, ReadState, Snapshot } from '../../src/raft/types.js';
import { NONE } from '../../src/raft/types.js';

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolation';
  }
}

/** What identifies an entry's content: equal fingerprints mean equal entries. */
export function fingerprint(e: Entry): string {
  switch (e.kind) {
    case 'command':
      return `c:${JSON.stringify(e.command)}`;
    case 'noop':
      return 'noop';
    case 'config':
      return `conf:${e.conf.voters.map((v) => v.id).join(',')}`;
  }
}

/** A cheap rolling hash of the applied sequence: the simulated replicated state machine. */
export function nextDigest(digest: number, fp: string): number {
  let h = digest ^ 0x9e3779b9;
  for (let i = 0; i < fp.length; i++) h = Math.imul(h ^ fp.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Definitions, as checked:
 * - Election Safety: at most one node ever becomes leader in a given term (over the whole run).
 * - Votes: the persisted vote for a term never changes to another candidate, across restarts; a granted
 *   vote is only sent once persisted; the persisted term never decreases.
 * - Log Matching: every (index, term) ever in any log has one content and one predecessor term, so two
 *   logs holding the same (index, term) are identical up to it (checked incrementally, and pairwise).
 * - Leader Completeness: a node becoming leader holds every entry known committed before it won.
 * - State Machine Safety: all nodes apply the same entry and reach the same digest at each index, in
 *   order, with no gap, also when they restore a snapshot.
 * - Commit index: within one life of a node it never decreases; on restart it starts again at
 *   max(persisted hardState.commit, snapshot index), and the persisted value itself never decreases.
 * - Linearizable reads: a ReadIndex is at least every commit index any node knew when the read began.
 */
export class InvariantChecker {
  readonly #leaders = new Map<number, NodeId>();
  readonly #persistedVotes = new Map<NodeId, Map<number, NodeId>>();
  readonly #persistedTerm = new Map<NodeId, number>();
  readonly #persistedCommit = new Map<NodeId, number>();
  readonly #entryShape = new Map<string, string>();
  readonly #committedTerm = new Map<number, number>();
  #maxCommitted = 0;
  readonly #applied = new Map<number, { fp: string; digest: number }>();
  readonly #lastCommitSeen = new Map<NodeId, number>();
  readonly #lastCommitRecorded = new Map<NodeId, number>();
  readonly #readFloor = new Map<string, number>();

  get leadersElected(): number {
    return this.#leaders.size;
  }
  get maxCommitted(): number {
    return this.#maxCommitted;
  }

  fail(message: string): never {
    throw new InvariantViolation(message);
  }

  onBecameLeader(core: RaftCore): void {
    const prior = this.#leaders.get(core.term);
    if (prior !== undefined && prior !== core.id) this.fail(`Election Safety: ${prior} and ${core.id} both led term ${core.term}`);
    this.#leaders.set(core.term, core.id);
    // Leader Completeness (Raft §5.4): everything committed so far is in the new leader's log.
    const snap = core.snapshot;
    for (let i = snap.index; i <= this.#maxCommitted; i++) {
      const t = this.#committedTerm.get(i);
      if (t === undefined || i === 0) continue;
      const have = core.termAt(i);
      if (have !== t) this.fail(`Leader Completeness: ${core.id} leads term ${core.term} but has term ${String(have)} at committed index ${i} (committed term ${t})`);
    }
  }

  onPersisted(id: NodeId, hardState: HardState | undefined, entries: readonly Entry[], core: RaftCore, snapshot: Snapshot | undefined): void {
    if (hardState !== undefined) {
      const prevTerm = this.#persistedTerm.get(id) ?? 0;
      if (hardState.term < prevTerm) this.fail(`persisted term of ${id} went back from ${prevTerm} to ${hardState.term}`);
      this.#persistedTerm.set(id, hardState.term);
      const prevCommit = this.#persistedCommit.get(id) ?? 0;
      if (hardState.commit < prevCommit) this.fail(`persisted commit of ${id} went back from ${prevCommit} to ${hardState.commit}`);
      this.#persistedCommit.set(id, hardState.commit);
      if (hardState.vote !== NONE) {
        let votes = this.#persistedVotes.get(id);
        if (votes === undefined) this.#persistedVotes.set(id, (votes = new Map()));
        const prior = votes.get(hardState.term);
        if (prior !== undefined && prior !== hardState.vote) this.fail(`${id} voted for ${prior} and then ${hardState.vote} in term ${hardState.term}`);
        votes.set(hardState.term, hardState.vote);
      }
    }
    if (snapshot !== undefined) this.#checkSnapshotTerm(id, snapshot);
    for (const e of entries) this.#checkEntryShape(id, e, core.termAt(e.index - 1));
  }

  /** Entries a node starts with (bootstrap) go through the same Log Matching registry. */
  registerInitialEntries(id: NodeId, entries: readonly Entry[]): void {
    let prev = 0;
    for (const e of entries) {
      this.#checkEntryShape(id, e, prev);
      prev = e.term;
    }
  }

  #checkEntryShape(id: NodeId, e: Entry, prevTerm: number | undefined): void {
    if (prevTerm === undefined) this.fail(`${id} holds entry ${e.index} with no predecessor in its log`);
    const key = `${e.index}/${e.term}`;
    const shape = `${prevTerm}|${fingerprint(e)}`;
    const known = this.#entryShape.get(key);
    if (known === undefined) this.#entryShape.set(key, shape);
    else if (known !== shape) this.fail(`Log Matching: ${id} holds entry ${key} as ${shape}, another log as ${known}`);
  }

  #checkSnapshotTerm(id: NodeId, snapshot: Snapshot): void {
    const t = this.#committedTerm.get(snapshot.index);
    if (t !== undefined && t !== snapshot.term) this.fail(`snapshot at ${snapshot.index} on ${id} has term ${snapshot.term}, committed term there is ${t}`);
  }

  /** Every message that leaves a node leaves after the state it depends on was persisted. */
  onSend(id: NodeId, m: RaftMessage, persisted: HardState): void {
    if (m.type === 'voteResponse' && !m.reject) {
      if (persisted.term !== m.term || persisted.vote !== m.to) {
        this.fail(`${id} granted a vote to ${m.to} in term ${m.term} before persisting it (persisted term ${persisted.term}, vote ${persisted.vote || 'none'})`);
      }
    }
  }

  onApply(id: NodeId, e: Entry, digestAfter: number): void {
    const known = this.#applied.get(e.index);
    const fp = `${e.term}|${fingerprint(e)}`;
    if (known === undefined) this.#applied.set(e.index, { fp, digest: digestAfter });
    else if (known.fp !== fp || known.digest !== digestAfter) this.fail(`State Machine Safety: ${id} applied ${fp} at ${e.index}, another node applied ${known.fp}`);
  }

  onRestore(id: NodeId, index: number, digest: number): void {
    const known = this.#applied.get(index);
    if (known !== undefined && known.digest !== digest) this.fail(`State Machine Safety: ${id} restored a snapshot at ${index} whose state differs from what was applied there`);
  }

  onRestart(core: RaftCore): void {
    this.#lastCommitSeen.set(core.id, core.commitIndex);
    this.#lastCommitRecorded.set(core.id, Math.min(this.#lastCommitRecorded.get(core.id) ?? 0, core.commitIndex));
    const persisted = this.#persistedCommit.get(core.id) ?? 0;
    if (core.commitIndex < Math.max(persisted, core.snapshot.index)) this.fail(`${core.id} restarted at commit ${core.commitIndex}, below its persisted ${persisted}`);
  }

  onReadStarted(context: string, floor: number): void {
    this.#readFloor.set(context, floor);
  }

  onReadState(id: NodeId, rs: ReadState): void {
    const floor = this.#readFloor.get(rs.context);
    if (floor !== undefined && rs.index < floor) this.fail(`linearizable read ${rs.context} on ${id} got read index ${rs.index}, below commit ${floor} known when it began`);
  }

  /** The per-step checks: commit monotonic within a life, committed terms never change. */
  afterStep(cores: readonly RaftCore[]): void {
    for (const core of cores) {
      const last = this.#lastCommitSeen.get(core.id) ?? 0;
      if (core.commitIndex < last) this.fail(`commit index of ${core.id} went back from ${last} to ${core.commitIndex}`);
      this.#lastCommitSeen.set(core.id, core.commitIndex);
      if (core.appliedIndex > core.commitIndex) this.fail(`${core.id} applied ${core.appliedIndex} beyond commit ${core.commitIndex}`);
      const from = Math.max((this.#lastCommitRecorded.get(core.id) ?? 0) + 1, core.firstIndex);
      for (let i = from; i <= core.commitIndex; i++) {
        const t = core.termAt(i);
        if (t === undefined) continue;
        const known = this.#committedTerm.get(i);
        if (known === undefined) this.#committedTerm.set(i, t);
        else if (known !== t) this.fail(`committed entry ${i} has term ${t} on ${core.id} but ${known} elsewhere`);
      }
      this.#lastCommitRecorded.set(core.id, core.commitIndex);
      if (core.commitIndex > this.#maxCommitted) this.#maxCommitted = core.commitIndex;
    }
  }

  /** Pairwise Log Matching over the logs as they are now (a slower, direct check). */
  checkLogsPairwise(cores: readonly RaftCore[]): void {
    for (let a = 0; a < cores.length; a++) {
      for (let b = a + 1; b < cores.length; b++) {
        const x = cores[a] as RaftCore;
        const y = cores[b] as RaftCore;
        const lo = Math.max(x.firstIndex, y.firstIndex);
        const hi = Math.min(x.lastIndex, y.lastIndex);
        let matched = false;
        for (let i = hi; i >= lo; i--) {
          const ex = x.entryAt(i);
          const ey = y.entryAt(i);
          if (ex === undefined || ey === undefined) continue;
          if (!matched) matched = ex.term === ey.term;
          if (matched && (ex.term !== ey.term || fingerprint(ex) !== fingerprint(ey))) {
            this.fail(`Log Matching: ${x.id} and ${y.id} agree above index ${i} but differ at it`);
          }
        }
      }
    }
  }
}

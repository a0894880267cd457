// The pure Raft state machine: step(message), tick(), ready()/advance(); no I/O, timers or ambient randomness.
import { resolveRaftCoreOptions, type RaftCoreOptions, type ResolvedRaftCoreOptions } from './options.js';
import { Progress, type ProgressState } from './progress.js';
import { EMPTY_SNAPSHOT, RaftLog } from './raft-log.js';
import {
  NONE,
  type AppendMessage,
  type ConfState,
  type Entry,
  type EntryPayload,
  type HardState,
  type HeartbeatMessage,
  type Member,
  type NodeId,
  type PersistedState,
  type RaftMessage,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SnapshotMessage,
  type SoftState,
  type VoteMessage,
} from './types.js';

/** Why the core refused a request; the driver turns these into typed errors. */
export type RefusalReason =
  | 'not-leader'
  | 'transfer-in-progress'
  | 'config-change-pending'
  | 'invalid-config-change'
  | 'too-many-uncommitted';

export type Refusal = { readonly ok: false; readonly reason: RefusalReason; readonly leaderId: NodeId; readonly message: string };
export type ProposalResult = { readonly ok: true; readonly index: number; readonly term: number } | Refusal;
export type AcceptResult = { readonly ok: true } | Refusal;

/** A single-server membership change (Raft thesis §4.1): one voter added or removed at a time. */
export type ConfChange = { readonly type: 'add'; readonly id: NodeId; readonly address?: string } | { readonly type: 'remove'; readonly id: NodeId };

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  /** Ticks since this follower last answered the leader; undefined if it never has. */
  readonly ticksSinceContact: number | undefined;
}

export interface RaftCoreStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leaderId: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly conf: ConfState;
  readonly leadTransferee: NodeId;
  /** Leader only: what it knows of each follower. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

/** The durable state of a node that founds a cluster: the initial configuration as committed entry 1. */
export function bootstrapState(voters: readonly Member[]): PersistedState {
  if (voters.length === 0) throw new RangeError('a cluster needs at least one voter');
  const ids = new Set(voters.map((v) => v.id));
  if (ids.size !== voters.length) throw new RangeError(`voter ids must be unique, got ${voters.map((v) => v.id).join(', ')}`);
  const conf: ConfState = { voters: voters.map((v) => ({ ...v })) };
  return { hardState: { term: 1, vote: NONE, commit: 1 }, entries: [{ index: 1, term: 1, kind: 'config', conf }] };
}

/** The durable state of a node that will join an existing cluster: empty; the leader brings it up to date. */
export function joinerState(): PersistedState {
  return { hardState: { term: 0, vote: NONE, commit: 0 }, entries: [] };
}

interface PendingRead {
  readonly index: number;
  readonly context: string;
  readonly acks: Set<NodeId>;
}

interface HandedOut {
  readonly lastEntryIndex: number;
  readonly appliedTo: number;
  readonly hardState: HardState;
  readonly hadSnapshot: boolean;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leaderId === b.leaderId && a.term === b.term;
}

export class RaftCore {
  readonly id: NodeId;
  readonly #options: ResolvedRaftCoreOptions;
  readonly #log: RaftLog;

  #term: number;
  #vote: NodeId;
  #role: Role = 'follower';
  #leaderId: NodeId = NONE;

  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  /** Leader: ticks since the last check that a majority answered (check-quorum, thesis §6.2). */
  #quorumElapsed = 0;
  #randomizedElectionTimeout = 0;

  readonly #progress = new Map<NodeId, Progress>();
  readonly #votes = new Map<NodeId, boolean>();
  #leadTransferee: NodeId = NONE;
  /** See setMayLead. */
  #mayLead = true;
  /** Index of the last config entry this leader appended; no new change until it commits (thesis §4.1). */
  #pendingConfIndex = 0;

  #pendingReads: PendingRead[] = [];
  /** Reads asked before this leader committed an entry of its term: served once it has (thesis §6.4 step 1). */
  #readsAwaitingCommit: string[] = [];

  #messages: RaftMessage[] = [];
  #readStates: ReadState[] = [];
  #prevHardState: HardState;
  #prevSoftState: SoftState;
  #handedOut: HandedOut | undefined;

  constructor(options: RaftCoreOptions, persisted: PersistedState) {
    this.#options = resolveRaftCoreOptions(options);
    this.id = this.#options.id;
    const snapshot = persisted.snapshot ?? EMPTY_SNAPSHOT;
    this.#log = new RaftLog(snapshot, persisted.entries, persisted.hardState.commit);
    this.#term = persisted.hardState.term;
    this.#vote = persisted.hardState.vote;
    if (this.#log.lastTerm() > this.#term) throw new RangeError(`persisted term ${this.#term} is behind the last log term ${this.#log.lastTerm()}`);
    this.#prevHardState = persisted.hardState;
    this.#becomeFollower(this.#term, NONE);
    this.#prevSoftState = this.softState();
  }

  // ── Observation ────────────────────────────────────────────────────────────────────────────

  get term(): number {
    return this.#term;
  }
  get vote(): NodeId {
    return this.#vote;
  }
  get role(): Role {
    return this.#role;
  }
  get leaderId(): NodeId {
    return this.#leaderId;
  }
  get commitIndex(): number {
    return this.#log.committed;
  }
  get appliedIndex(): number {
    return this.#log.applied;
  }
  get lastIndex(): number {
    return this.#log.lastIndex();
  }
  get firstIndex(): number {
    return this.#log.firstIndex();
  }
  get snapshot(): Snapshot {
    return this.#log.snapshot;
  }
  /** The configuration in force: the latest one in the log, committed or not (thesis §4.1). */
  get conf(): ConfState {
    return this.#log.conf;
  }
  termAt(index: number): number | undefined {
    return this.#log.term(index);
  }
  entryAt(index: number): Entry | undefined {
    return this.#log.entry(index);
  }
  isVoter(id: NodeId = this.id): boolean {
    return this.#log.conf.voters.some((v) => v.id === id);
  }

  softState(): SoftState {
    return { role: this.#role, leaderId: this.#leaderId, term: this.#term };
  }

  hardState(): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.#log.committed };
  }

  status(): RaftCoreStatus {
    const progress = new Map<NodeId, ProgressStatus>();
    if (this.#role === 'leader') {
      for (const [id, pr] of this.#progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, ticksSinceContact: pr.ticksSinceContact });
      }
    }
    return {
      id: this.id,
      role: this.#role,
      term: this.#term,
      vote: this.#vote,
      leaderId: this.#leaderId,
      commitIndex: this.#log.committed,
      appliedIndex: this.#log.applied,
      firstIndex: this.#log.firstIndex(),
      lastIndex: this.#log.lastIndex(),
      snapshotIndex: this.#log.snapshot.index,
      conf: this.#log.conf,
      leadTransferee: this.#leadTransferee,
      progress,
    };
  }

  // ── Inputs ─────────────────────────────────────────────────────────────────────────────────

  /**
   * How many of the next ticks would only count time (no message, no election, no step-down): a
   * driver may sleep through them and hand them in later, all before the next input, so that an
   * idle node need not wake every tick (docs/performance.md, "Round two"). The tick after them may
   * act. A leader acts at its next heartbeat (when it has peers or reads waiting) or at its
   * election timeout (check-quorum, a transfer timing out); a voter that may lead, at its election
   * timeout; any other node never, so it is given one election timeout (it wakes now and then).
   */
  quietTicks(): number {
    if (this.#role === 'leader') {
      // A leader's election timeout acts only on a leadership transfer (it gives up on it); with
      // check-quorum its quorum timeout acts; without, the election timeout bounds the sleep.
      const toElection = this.#options.electionTicks - this.#electionElapsed;
      const toQuorum = this.#options.checkQuorum ? this.#options.quorumTicks - this.#quorumElapsed : toElection;
      const toCheck = this.#leadTransferee !== NONE ? Math.min(toElection, toQuorum) : toQuorum;
      const beats = this.#pendingReads.length > 0 || [...this.#progress.keys()].some((id) => id !== this.id);
      const toBeat = beats ? this.#options.heartbeatTicks - this.#heartbeatElapsed : Infinity;
      return Math.max(0, Math.min(toCheck, toBeat) - 1);
    }
    if (!this.isVoter() || !this.#mayLead) return this.#options.electionTicks;
    return Math.max(0, this.#randomizedElectionTimeout - this.#electionElapsed - 1);
  }

  /** Advance logical time by one tick. */
  tick(): void {
    this.#assertNotHandedOut('tick');
    if (this.#role === 'leader') this.#tickHeartbeat();
    else this.#tickElection();
  }

  /**
   * Whether this node may become leader. One that may not (its host cannot do a leader's work, e.g.
   * it cannot reach the data store) still votes and follows, but starts no election, at its
   * election timeout or on a leader's TimeoutNow; it keeps a leadership it holds: the caller
   * transfers it. As etcd does for a node that is not promotable.
   */
  setMayLead(mayLead: boolean): void {
    this.#assertNotHandedOut('setMayLead');
    this.#mayLead = mayLead;
  }

  get mayLead(): boolean {
    return this.#mayLead;
  }

  /** Start an election now (as if the election timeout fired); ignored on a leader or a non-voter. */
  campaign(): void {
    this.#assertNotHandedOut('campaign');
    this.#hup(false);
  }

  /** Append a client command if this node leads; it is committed once a majority stores it. */
  propose(command: unknown): ProposalResult {
    this.#assertNotHandedOut('propose');
    return this.#proposeEntry({ kind: 'command', command });
  }

  /** Propose a single-server membership change (Raft thesis §4.1). */
  proposeConfChange(change: ConfChange): ProposalResult {
    this.#assertNotHandedOut('proposeConfChange');
    if (this.#role !== 'leader') return this.#refuse('not-leader', 'only the leader changes the membership');
    // Thesis §4.1 and its 2015 erratum: one change at a time, and only once this leader has committed
    // an entry of its own term (its no-op), or two overlapping single-server changes could both commit.
    if (this.#log.committed < this.#pendingConfIndex) {
      return this.#refuse('config-change-pending', `a membership change at index ${this.#pendingConfIndex} is not committed yet (commit index ${this.#log.committed})`);
    }
    const voters = this.#log.conf.voters;
    let next: Member[];
    if (change.type === 'add') {
      if (typeof change.id !== 'string' || change.id.length === 0) return this.#refuse('invalid-config-change', 'the node id to add must be a non-empty string');
      if (voters.some((v) => v.id === change.id)) return this.#refuse('invalid-config-change', `node ${change.id} is already a voter`);
      next = [...voters, change.address === undefined ? { id: change.id } : { id: change.id, address: change.address }];
    } else {
      if (!voters.some((v) => v.id === change.id)) return this.#refuse('invalid-config-change', `node ${change.id} is not a voter`);
      if (voters.length === 1) return this.#refuse('invalid-config-change', 'cannot remove the last voter');
      next = voters.filter((v) => v.id !== change.id);
    }
    return this.#proposeEntry({ kind: 'config', conf: { voters: next } });
  }

  /**
   * Hand leadership to `to` (thesis §3.10): stop accepting proposals, bring `to` up to date, then tell it
   * to campaign at once. Aborted after an election timeout if it has not happened.
   */
  transferLeadership(to: NodeId): AcceptResult {
    this.#assertNotHandedOut('transferLeadership');
    if (this.#role !== 'leader') return this.#refuse('not-leader', 'only the leader can transfer leadership');
    if (to === this.id) return { ok: true };
    if (!this.#progress.has(to)) return this.#refuse('invalid-config-change', `cannot transfer leadership to ${to}: not a voter`);
    if (this.#leadTransferee === to) return { ok: true };
    this.#leadTransferee = to;
    this.#electionElapsed = 0; // the transfer must finish within one election timeout
    const pr = this.#progress.get(to);
    if (pr !== undefined && pr.match === this.#log.lastIndex()) this.#send({ type: 'timeoutNow', to, term: this.#term, from: this.id });
    else this.#sendAppend(to);
    return { ok: true };
  }

  /**
   * Ask for a linearizable read point (ReadIndex, thesis §6.4). When a majority has confirmed this node
   * still leads, a ReadState with `context` and the commit index appears in Ready.readStates.
   */
  readIndex(context: string): AcceptResult {
    this.#assertNotHandedOut('readIndex');
    if (this.#role !== 'leader') return this.#refuse('not-leader', 'only the leader serves linearizable reads');
    if (this.#log.term(this.#log.committed) !== this.#term) {
      this.#readsAwaitingCommit.push(context);
      return { ok: true };
    }
    this.#startRead(context);
    return { ok: true };
  }

  /** Forget entries up to `index` (which must be applied), replacing them by a snapshot holding `data` (Raft §7). */
  compact(index: number, data: unknown): Snapshot {
    this.#assertNotHandedOut('compact');
    return this.#log.compact(index, data);
  }

  /** Handle one message from a peer (Raft Figure 2, "Rules for Servers"). */
  step(m: RaftMessage): void {
    this.#assertNotHandedOut('step');
    if (m.to !== this.id) return;
    if (m.term > this.#term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Thesis §4.2.3 / §9.6: while a follower hears from a leader (its lease), it ignores would-be
        // candidates, so a node that was partitioned or removed cannot depose a healthy leader.
        const inLease = this.#options.checkQuorum && this.#leaderId !== NONE && this.#electionElapsed < this.#options.electionTicks;
        if (inLease && !m.transfer) return;
      }
      if (m.type === 'preVote') {
        // A PreVote never changes our term: it only asks whether we would vote (thesis §9.6).
      } else if (m.type === 'preVoteResponse' && !m.reject) {
        // A granted PreVote carries the future term; our term changes only when we really campaign.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.#becomeFollower(m.term, m.from);
      } else {
        this.#becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.#term) {
      if ((this.#options.checkQuorum || this.#options.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A leader stranded in an older term (e.g. healed from a minority partition): answering with our
        // term makes it step down; otherwise PreVote could leave it, and us, stuck.
        this.#send({ type: 'appendResponse', to: m.from, from: this.id, term: this.#term, index: 0, reject: false, rejectHint: 0, rejectHintTerm: 0 });
      } else if (m.type === 'preVote') {
        this.#send({ type: 'preVoteResponse', to: m.from, from: this.id, term: this.#term, reject: true });
      }
      return; // Raft §5.1: stale terms are ignored
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.#handleVoteRequest(m);
      return;
    }
    switch (this.#role) {
      case 'leader':
        this.#stepLeader(m);
        break;
      case 'candidate':
      case 'pre-candidate':
        this.#stepCandidate(m);
        break;
      case 'follower':
        this.#stepFollower(m);
        break;
    }
  }

  // ── Output ─────────────────────────────────────────────────────────────────────────────────

  hasReady(): boolean {
    return (
      !sameSoftState(this.softState(), this.#prevSoftState) ||
      !sameHardState(this.hardState(), this.#prevHardState) ||
      this.#log.pendingSnapshot !== undefined ||
      this.#log.unstableEntries().length > 0 ||
      this.#log.hasNextCommittedEntries() ||
      this.#messages.length > 0 ||
      this.#readStates.length > 0
    );
  }

  /** What to persist, send and apply now; call advance() when done. No other input is accepted in between. */
  ready(): Ready {
    this.#assertNotHandedOut('ready');
    const softState = this.softState();
    const hardState = this.hardState();
    const entries = this.#log.unstableEntries();
    const committedEntries = this.#log.nextCommittedEntries();
    const snapshot = this.#log.pendingSnapshot;
    const rd: Ready = {
      ...(sameSoftState(softState, this.#prevSoftState) ? {} : { softState }),
      ...(sameHardState(hardState, this.#prevHardState) ? {} : { hardState }),
      entries,
      ...(snapshot === undefined ? {} : { snapshot }),
      committedEntries,
      messages: this.#messages,
      readStates: this.#readStates,
    };
    this.#prevSoftState = softState;
    this.#messages = [];
    this.#readStates = [];
    this.#handedOut = {
      lastEntryIndex: entries.length > 0 ? (entries[entries.length - 1] as Entry).index : this.#log.stableIndex,
      appliedTo: committedEntries.length > 0 ? (committedEntries[committedEntries.length - 1] as Entry).index : this.#log.applied,
      hardState,
      hadSnapshot: snapshot !== undefined,
    };
    return rd;
  }

  /** The last Ready has been persisted, sent and applied. */
  advance(): void {
    const done = this.#handedOut;
    if (done === undefined) throw new Error('advance() called without a ready() to acknowledge');
    this.#handedOut = undefined;
    if (done.hadSnapshot) this.#log.snapshotStable();
    this.#log.stableTo(done.lastEntryIndex);
    this.#log.appliedTo(done.appliedTo);
    this.#prevHardState = done.hardState;
  }

  // ── Roles (Raft §5.2) ──────────────────────────────────────────────────────────────────────

  #becomeFollower(term: number, leaderId: NodeId): void {
    this.#reset(term);
    this.#role = 'follower';
    this.#leaderId = leaderId;
  }

  #becomePreCandidate(): void {
    // Thesis §9.6: no term change and no vote yet; just ask whether a majority would vote for us.
    this.#votes.clear();
    this.#progress.clear();
    this.#pendingReads = [];
    this.#readsAwaitingCommit = [];
    this.#role = 'pre-candidate';
    this.#leaderId = NONE;
    this.#electionElapsed = 0;
    this.#resetRandomizedElectionTimeout();
  }

  #becomeCandidate(): void {
    this.#reset(this.#term + 1);
    this.#vote = this.id;
    this.#role = 'candidate';
  }

  #becomeLeader(): void {
    this.#reset(this.#term);
    this.#role = 'leader';
    this.#leaderId = this.id;
    for (const v of this.#log.conf.voters) {
      const pr = new Progress(this.#log.lastIndex() + 1);
      if (v.id === this.id) {
        pr.match = this.#log.lastIndex();
        pr.recentActive = true;
      }
      this.#progress.set(v.id, pr);
    }
    // Raft §5.4.2 / §8: a leader may only count replicas for entries of its own term, so it appends a
    // no-op at once; committing it commits everything before it. It also guards membership changes.
    this.#appendEntries([{ kind: 'noop' }]);
    this.#pendingConfIndex = this.#log.lastIndex();
    this.#bcastAppend();
  }

  #reset(term: number): void {
    if (term !== this.#term) {
      this.#term = term;
      this.#vote = NONE;
    }
    this.#leaderId = NONE;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#quorumElapsed = 0;
    this.#resetRandomizedElectionTimeout();
    this.#votes.clear();
    this.#progress.clear();
    this.#leadTransferee = NONE;
    this.#pendingConfIndex = 0;
    this.#pendingReads = [];
    this.#readsAwaitingCommit = [];
  }

  #resetRandomizedElectionTimeout(): void {
    // Raft §5.2: randomised timeouts make split votes rare.
    this.#randomizedElectionTimeout = this.#options.electionTicks + this.#options.random.nextInt(this.#options.electionTicks);
  }

  // ── Time ───────────────────────────────────────────────────────────────────────────────────

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.isVoter() && this.#mayLead && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0;
      this.#hup(false);
    }
  }

  #tickHeartbeat(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    for (const [id, pr] of this.#progress) {
      if (id === this.id) continue;
      if (pr.ticksSinceContact !== undefined) pr.ticksSinceContact++;
      if (pr.state === 'snapshot') pr.ticksSinceSnapshot++;
    }
    this.#quorumElapsed++;
    if (this.#options.checkQuorum && this.#quorumElapsed >= this.#options.quorumTicks) {
      this.#quorumElapsed = 0;
      // Thesis §6.2: a leader that has not heard from a majority in an election timeout (quorumTicks)
      // steps down, so a leader cut off in a minority partition stops claiming leadership.
      if (!this.#quorumActive()) {
        this.#becomeFollower(this.#term, NONE);
        return;
      }
      for (const [id, pr] of this.#progress) pr.recentActive = id === this.id;
    }
    if (this.#electionElapsed >= this.#options.electionTicks) {
      this.#electionElapsed = 0;
      if (this.#leadTransferee !== NONE) this.#leadTransferee = NONE; // transfer timed out (thesis §3.10)
    }
    if (this.#heartbeatElapsed >= this.#options.heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      this.#bcastHeartbeat(this.#pendingReads[this.#pendingReads.length - 1]?.context ?? '');
    }
  }

  #quorumActive(): boolean {
    let active = 0;
    for (const v of this.#log.conf.voters) {
      if (v.id === this.id || this.#progress.get(v.id)?.recentActive === true) active++;
    }
    return active >= this.#quorum();
  }

  #quorum(): number {
    return Math.floor(this.#log.conf.voters.length / 2) + 1;
  }

  // ── Elections ──────────────────────────────────────────────────────────────────────────────

  #hup(transfer: boolean): void {
    if (this.#role === 'leader' || !this.isVoter()) return;
    if (this.#options.preVote && !transfer) this.#campaignPreVote();
    else this.#campaignVote(transfer);
  }

  #campaignPreVote(): void {
    this.#becomePreCandidate();
    this.#requestVotes('preVote', this.#term + 1, false);
  }

  #campaignVote(transfer: boolean): void {
    this.#becomeCandidate();
    this.#requestVotes('vote', this.#term, transfer);
  }

  #requestVotes(type: 'vote' | 'preVote', term: number, transfer: boolean): void {
    if (this.#poll(this.id, true) === 'won') {
      this.#onElectionWon(type);
      return;
    }
    for (const v of this.#log.conf.voters) {
      if (v.id === this.id) continue;
      this.#send({ type, to: v.id, from: this.id, term, lastIndex: this.#log.lastIndex(), lastTerm: this.#log.lastTerm(), transfer });
    }
  }

  #poll(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.#votes.has(from)) this.#votes.set(from, granted);
    let yes = 0;
    let no = 0;
    for (const v of this.#log.conf.voters) {
      const vote = this.#votes.get(v.id);
      if (vote === true) yes++;
      else if (vote === false) no++;
    }
    if (yes >= this.#quorum()) return 'won';
    if (no >= this.#quorum()) return 'lost';
    return 'pending';
  }

  #onElectionWon(type: 'vote' | 'preVote'): void {
    if (type === 'preVote') this.#campaignVote(false);
    else this.#becomeLeader();
  }

  #handleVoteRequest(m: VoteMessage): void {
    const responseType = m.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
    // Raft §5.2: one vote per term, first come first served; a PreVote for a later term is only a question.
    const canVote =
      this.#vote === m.from ||
      (this.#vote === NONE && this.#leaderId === NONE) ||
      (m.type === 'preVote' && m.term > this.#term);
    // Raft §5.4.1 (election restriction): only for a candidate whose log is at least as up-to-date.
    if (canVote && this.#log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.#send({ type: responseType, to: m.from, from: this.id, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.#electionElapsed = 0;
        this.#vote = m.from;
      }
    } else {
      this.#send({ type: responseType, to: m.from, from: this.id, term: this.#term, reject: true });
    }
  }

  // ── Per-role message handling ──────────────────────────────────────────────────────────────

  #stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
        this.#electionElapsed = 0;
        this.#leaderId = m.from;
        this.#handleAppend(m);
        break;
      case 'heartbeat':
        this.#electionElapsed = 0;
        this.#leaderId = m.from;
        this.#handleHeartbeat(m);
        break;
      case 'snapshot':
        this.#electionElapsed = 0;
        this.#leaderId = m.from;
        this.#handleSnapshot(m);
        break;
      case 'timeoutNow':
        // Thesis §3.10: the leader hands over; campaign at once, skipping PreVote and the voters' lease.
        if (this.#mayLead) this.#hup(true);
        break;
      default:
        break;
    }
  }

  #stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Raft §5.2: a leader of our term exists; return to follower and take its message.
        this.#becomeFollower(m.term, m.from);
        this.#stepFollower(m);
        break;
      case 'voteResponse':
      case 'preVoteResponse': {
        const expected = this.#role === 'candidate' ? 'voteResponse' : 'preVoteResponse';
        if (m.type !== expected) break;
        const outcome = this.#poll(m.from, !m.reject);
        if (outcome === 'won') this.#onElectionWon(m.type === 'voteResponse' ? 'vote' : 'preVote');
        else if (outcome === 'lost') this.#becomeFollower(this.#term, NONE);
        break;
      }
      default:
        break;
    }
  }

  #stepLeader(m: RaftMessage): void {
    const pr = this.#progress.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case 'appendResponse': {
        pr.recentActive = true;
        pr.ticksSinceContact = 0;
        if (m.reject) {
          // Raft §5.3: back up nextIndex and retry; the hint skips a whole conflicting term at once.
          const hint = m.rejectHintTerm > 0 ? this.#log.findConflictByTerm(m.rejectHint, m.rejectHintTerm).index : m.rejectHint;
          if (pr.maybeDecreaseTo(m.index, hint)) {
            if (pr.state === 'replicate') pr.becomeProbe();
            this.#sendAppend(m.from);
          }
          break;
        }
        const wasPaused = pr.isPaused();
        if (!pr.maybeUpdate(m.index)) break;
        if (pr.state === 'probe') pr.becomeReplicate();
        else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        if (this.#maybeCommit()) this.#bcastAppend();
        else if (wasPaused) this.#sendAppend(m.from);
        // Pipeline whatever is left for this follower, one batch per message.
        while (this.#role === 'leader' && this.#progress.get(m.from) === pr && this.#sendAppend(m.from, false)) {
          /* keep sending */
        }
        if (this.#role === 'leader' && m.from === this.#leadTransferee && pr.match === this.#log.lastIndex()) {
          this.#send({ type: 'timeoutNow', to: m.from, from: this.id, term: this.#term });
        }
        break;
      }
      case 'heartbeatResponse': {
        pr.recentActive = true;
        pr.ticksSinceContact = 0;
        if (pr.state === 'probe') pr.probeSent = false;
        if (pr.state === 'snapshot' && pr.ticksSinceSnapshot >= this.#options.electionTicks) pr.becomeProbe(); // lost snapshot: resend
        if (pr.match < this.#log.lastIndex()) this.#sendAppend(m.from);
        if (m.context !== '') this.#ackRead(m.context, m.from);
        break;
      }
      default:
        break;
    }
  }

  // ── Log replication (Raft §5.3) ────────────────────────────────────────────────────────────

  #handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.#log.committed) {
      this.#send({ type: 'appendResponse', to: m.from, from: this.id, term: this.#term, index: this.#log.committed, reject: false, rejectHint: 0, rejectHintTerm: 0 });
      return;
    }
    const lastNew = this.#log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.#send({ type: 'appendResponse', to: m.from, from: this.id, term: this.#term, index: lastNew, reject: false, rejectHint: 0, rejectHintTerm: 0 });
      return;
    }
    const hint = this.#log.findConflictByTerm(Math.min(m.prevIndex, this.#log.lastIndex()), m.prevTerm);
    this.#send({ type: 'appendResponse', to: m.from, from: this.id, term: this.#term, index: m.prevIndex, reject: true, rejectHint: hint.index, rejectHintTerm: hint.term });
  }

  #handleHeartbeat(m: HeartbeatMessage): void {
    // The leader caps m.commit at what it knows we match, so this never commits a divergent entry.
    this.#log.commitTo(Math.min(m.commit, this.#log.lastIndex()));
    this.#send({ type: 'heartbeatResponse', to: m.from, from: this.id, term: this.#term, context: m.context });
  }

  #handleSnapshot(m: SnapshotMessage): void {
    const s = m.snapshot;
    if (s.index <= this.#log.committed) {
      this.#send({ type: 'appendResponse', to: m.from, from: this.id, term: this.#term, index: this.#log.committed, reject: false, rejectHint: 0, rejectHintTerm: 0 });
      return;
    }
    if (this.#log.matchTerm(s.index, s.term)) {
      // Raft §7: we already hold the snapshot's last entry; keep the log after it and just commit.
      this.#log.commitTo(s.index);
    } else {
      this.#log.restore(s);
    }
    this.#send({ type: 'appendResponse', to: m.from, from: this.id, term: this.#term, index: this.#log.committed, reject: false, rejectHint: 0, rejectHintTerm: 0 });
  }

  #proposeEntry(payload: EntryPayload): ProposalResult {
    if (this.#role !== 'leader') return this.#refuse('not-leader', 'this node is not the leader');
    if (this.#leadTransferee !== NONE) return this.#refuse('transfer-in-progress', `leadership is being transferred to ${this.#leadTransferee}`);
    if (this.#log.lastIndex() - this.#log.committed >= this.#options.maxUncommittedEntries) {
      return this.#refuse('too-many-uncommitted', `${this.#log.lastIndex() - this.#log.committed} entries await commit (limit ${this.#options.maxUncommittedEntries})`);
    }
    const entry = this.#appendEntries([payload]);
    if (payload.kind === 'config') this.#pendingConfIndex = entry.index;
    this.#bcastAppend();
    return { ok: true, index: entry.index, term: entry.term };
  }

  #appendEntries(payloads: readonly EntryPayload[]): Entry {
    let last: Entry | undefined;
    for (const payload of payloads) {
      last = { ...payload, index: this.#log.lastIndex() + 1, term: this.#term };
      this.#log.append([last]);
      if (last.kind === 'config') this.#onConfChanged();
    }
    const self = this.#progress.get(this.id);
    if (self !== undefined) self.maybeUpdate(this.#log.lastIndex());
    this.#maybeCommit(); // a single voter commits on its own
    return last as Entry;
  }

  /** Leader side of a configuration now in the log: track new voters, forget removed ones. */
  #onConfChanged(): void {
    if (this.#role !== 'leader') return;
    const ids = new Set(this.#log.conf.voters.map((v) => v.id));
    for (const id of ids) if (!this.#progress.has(id)) this.#progress.set(id, new Progress(this.#log.lastIndex()));
    for (const id of [...this.#progress.keys()]) if (!ids.has(id) && id !== this.id) this.#progress.delete(id);
    if (this.#leadTransferee !== NONE && !ids.has(this.#leadTransferee)) this.#leadTransferee = NONE;
  }

  /** Raft §5.3–5.4.2: commit the highest index stored on a majority, but only if it is of the current term. */
  #maybeCommit(): boolean {
    const matches: number[] = [];
    for (const v of this.#log.conf.voters) {
      const pr = this.#progress.get(v.id);
      // A leader that is removing itself does not count its own copy (thesis §4.2.2).
      matches.push(pr === undefined ? 0 : pr.match);
    }
    matches.sort((a, b) => b - a);
    const candidate = matches[this.#quorum() - 1] ?? 0;
    if (candidate <= this.#log.committed || this.#log.term(candidate) !== this.#term) return false;
    this.#log.commitTo(candidate);
    this.#afterCommit();
    return true;
  }

  #afterCommit(): void {
    if (this.#readsAwaitingCommit.length > 0 && this.#log.term(this.#log.committed) === this.#term) {
      const waiting = this.#readsAwaitingCommit;
      this.#readsAwaitingCommit = [];
      for (const context of waiting) this.#startRead(context);
    }
    // Thesis §4.2.2: a leader removed from the configuration steps down once that change commits.
    if (!this.isVoter() && this.#log.confIndex <= this.#log.committed) {
      this.#bcastAppend(); // let the others learn the commit before we go quiet
      this.#becomeFollower(this.#term, NONE);
    }
  }

  /** Send what `to` is missing; in probe state one message at a time. Returns whether entries were sent. */
  #sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.#progress.get(to);
    if (pr === undefined || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.#log.term(prevIndex);
    if (prevTerm === undefined) {
      // Raft §7: what the follower needs was compacted away; send the snapshot instead.
      const snapshot = this.#log.snapshot;
      pr.becomeSnapshot(snapshot.index);
      this.#send({ type: 'snapshot', to, from: this.id, term: this.#term, snapshot });
      return false;
    }
    const entries = this.#log.slice(pr.next, pr.next + this.#options.maxEntriesPerMessage);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.#send({ type: 'append', to, from: this.id, term: this.#term, prevIndex, prevTerm, entries, commit: this.#log.committed });
    if (pr.state === 'replicate') {
      if (entries.length > 0) pr.next = (entries[entries.length - 1] as Entry).index + 1;
    } else {
      pr.probeSent = true;
    }
    return entries.length > 0;
  }

  #bcastAppend(): void {
    for (const id of this.#progress.keys()) if (id !== this.id) this.#sendAppend(id);
  }

  #bcastHeartbeat(context: string): void {
    for (const [id, pr] of this.#progress) {
      if (id === this.id) continue;
      const msg: HeartbeatMessage = { type: 'heartbeat', to: id, from: this.id, term: this.#term, commit: Math.min(pr.match, this.#log.committed), context };
      this.#send(msg);
    }
  }

  // ── Linearizable reads (thesis §6.4) ───────────────────────────────────────────────────────

  #startRead(context: string): void {
    const read: PendingRead = { index: this.#log.committed, context, acks: new Set([this.id]) };
    if (this.#readQuorumReached(read)) {
      this.#readStates.push({ index: read.index, context });
      return;
    }
    this.#pendingReads.push(read);
    this.#bcastHeartbeat(context);
  }

  #readQuorumReached(read: PendingRead): boolean {
    let acks = 0;
    for (const v of this.#log.conf.voters) if (read.acks.has(v.id)) acks++;
    return acks >= this.#quorum();
  }

  #ackRead(context: string, from: NodeId): void {
    const at = this.#pendingReads.findIndex((r) => r.context === context);
    if (at < 0) return;
    const read = this.#pendingReads[at] as PendingRead;
    read.acks.add(from);
    if (!this.#readQuorumReached(read)) return;
    // A heartbeat round confirms leadership for every read that started before it, too.
    for (const r of this.#pendingReads.splice(0, at + 1)) this.#readStates.push({ index: r.index, context: r.context });
  }

  // ── Plumbing ───────────────────────────────────────────────────────────────────────────────

  #send(m: RaftMessage): void {
    this.#messages.push(m);
  }

  #refuse(reason: RefusalReason, message: string): Refusal {
    return { ok: false, reason, leaderId: this.#leaderId, message };
  }

  #assertNotHandedOut(what: string): void {
    if (this.#handedOut !== undefined) throw new Error(`${what}() called between ready() and advance(): handle the Ready and call advance() first`);
  }
}

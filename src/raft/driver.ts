// The impure edge of Raft: timers, the write-ahead storage and the transport around the pure core.
import { randomInt } from 'node:crypto';
import { RingpoolError } from '../errors.js';
import { bootstrapState, joinerState, RaftCore, type ConfChange, type Refusal } from './core.js';
import { SeededRandom, type RandomSource } from './random.js';
import type { RaftStorage } from './storage.js';
import type { RaftTransport } from './transport.js';
import { NONE, type Entry, type Member, type NodeId, type RaftMessage, type Ready, type Role } from './types.js';

/** Where an applied command sits in the log. */
export interface AppliedPosition {
  readonly index: number;
  readonly term: number;
}

export interface RaftDriverOptions<Command = unknown> {
  /** This scheduler's id; must be unique in the cluster. */
  readonly id: NodeId;
  readonly storage: RaftStorage;
  readonly transport: RaftTransport;
  /**
   * The founding members, used only when the storage is empty: it then starts with this configuration
   * (include yourself). Leave undefined to start empty and wait to be added by the leader (addNode).
   */
  readonly bootstrap?: readonly Member[];
  /** The replicated state machine: called once per committed command, in log order, on every node. */
  readonly apply: (command: Command, position: AppliedPosition) => void;
  /** Returns the state machine's whole state as a JSON-serialisable value (for compaction, Raft §7). */
  readonly snapshot: () => unknown;
  /** Replaces the state machine's state by what snapshot() returned, on some node. */
  readonly restore: (data: unknown) => void;
  /** Told about membership changes once they are in the log. */
  readonly onMembershipChange?: (members: readonly Member[]) => void;
  /**
   * Milliseconds per core tick.
   * @default 50
   */
  readonly tickMs?: number;
  /**
   * Election timeout in ticks; randomised in [electionTicks, 2 × electionTicks): 500–1000 ms by default.
   * @default 10
   */
  readonly electionTicks?: number;
  /**
   * Heartbeat interval in ticks: 100 ms by default.
   * @default 2
   */
  readonly heartbeatTicks?: number;
  /** Ticks a leader waits to hear from a majority before stepping down (RaftCoreOptions.quorumTicks). @default electionTicks */
  readonly quorumTicks?: number;
  /** @default true */
  readonly preVote?: boolean;
  /** @default true */
  readonly checkQuorum?: boolean;
  /**
   * Take a snapshot and compact the log once this many applied entries follow the last snapshot.
   * @default 1000
   */
  readonly snapshotEvery?: number;
  /**
   * How long propose(), readIndex(), addNode() and removeNode() wait before failing with TIMEOUT.
   * @default 5000
   */
  readonly requestTimeoutMs?: number;
  /** Election jitter; seeded from crypto.randomInt by default. */
  readonly random?: RandomSource;
  /**
   * Called after the driver handled what the core had ready (a tick, a message, a proposal): the
   * moment its status() may have changed, e.g. to mirror it in another thread.
   */
  readonly onProcessed?: () => void;
  /** Told about failures the driver cannot hand to a caller (a failed fsync stops the driver). */
  readonly onError?: (err: Error) => void;
}

type DriverTuning = 'tickMs' | 'electionTicks' | 'heartbeatTicks' | 'preVote' | 'checkQuorum' | 'snapshotEvery' | 'requestTimeoutMs';
type ResolvedDriverOptions<Command> = RaftDriverOptions<Command> & Required<Pick<RaftDriverOptions<Command>, DriverTuning>>;

export const RAFT_DRIVER_DEFAULTS: Readonly<Required<Pick<RaftDriverOptions, DriverTuning>>> = Object.freeze({
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 2,
  preVote: true,
  checkQuorum: true,
  snapshotEvery: 1000,
  requestTimeoutMs: 5000,
});

export interface RaftPeerStatus {
  readonly id: NodeId;
  readonly url: string | undefined;
  /** Leader only: milliseconds since this peer last answered. */
  readonly lastContactMs?: number;
  /** Leader only: the highest log index known to be on this peer. */
  readonly matchIndex?: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leaderId: NodeId | undefined;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly peers: readonly RaftPeerStatus[];
}

/** Arguments: the leader (undefined when none is known), its term, and whether it is this node. */
export type LeaderChangeListener = (leaderId: NodeId | undefined, term: number, isMe: boolean) => void;

export interface ReadResult<T> {
  readonly value: T;
  /** True when the read may miss writes already committed elsewhere (a local read not on a confirmed leader). */
  readonly possiblyStale: boolean;
  readonly appliedIndex: number;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface PendingProposal extends Waiter<AppliedPosition> {
  readonly term: number;
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new RingpoolError('CONFIG', `${name} must be a positive integer, got ${String(value)}`);
}

function isEmpty(state: ReturnType<RaftStorage['load']>): boolean {
  return state.hardState.term === 0 && state.entries.length === 0 && state.snapshot === undefined;
}

export class RaftDriver<Command = unknown> {
  readonly id: NodeId;
  readonly #options: ResolvedDriverOptions<Command>;
  readonly #core: RaftCore;
  #ticker: NodeJS.Timeout | undefined;
  /** When the last tick handed to the core was due (performance.now()), and when the timer wakes next. */
  #tickedAt = 0;
  #wakeAt = Infinity;
  #started = false;
  #stopped = false;
  #processing = false;
  #readSeq = 0;
  readonly #proposals = new Map<number, PendingProposal>();
  /** ReadIndex requests by context, waiting for the leader's confirmation. */
  readonly #reads = new Map<string, Waiter<number>>();
  /** Confirmed read points waiting for the state machine to catch up. */
  #readsAwaitingApply: Array<{ index: number; waiter: Waiter<number> }> = [];
  readonly #transfers = new Set<{ to: NodeId; waiter: Waiter<NodeId> }>();
  readonly #leaderListeners = new Set<LeaderChangeListener>();
  #lastLeader: { leaderId: NodeId; term: number } = { leaderId: NONE, term: 0 };

  constructor(options: RaftDriverOptions<Command>) {
    const merged = { ...RAFT_DRIVER_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ResolvedDriverOptions<Command>;
    if (typeof merged.id !== 'string' || merged.id.length === 0) throw new RingpoolError('CONFIG', `id must be a non-empty string, got ${JSON.stringify(merged.id)}`);
    for (const hook of ['apply', 'snapshot', 'restore'] as const) {
      if (typeof merged[hook] !== 'function') throw new RingpoolError('CONFIG', `${hook} must be a function, got ${typeof merged[hook]}`);
    }
    positiveInteger('tickMs', merged.tickMs);
    positiveInteger('snapshotEvery', merged.snapshotEvery);
    positiveInteger('requestTimeoutMs', merged.requestTimeoutMs);
    if (merged.bootstrap !== undefined && !merged.bootstrap.some((m) => m.id === merged.id)) {
      throw new RingpoolError('CONFIG', `bootstrap members (${merged.bootstrap.map((m) => m.id).join(', ')}) must include this node, ${merged.id}`);
    }
    this.#options = merged;
    this.id = merged.id;

    let state = merged.storage.load();
    if (isEmpty(state)) {
      const initial = merged.bootstrap === undefined ? joinerState() : bootstrapState(merged.bootstrap);
      if (initial.entries.length > 0) merged.storage.save({ hardState: initial.hardState, entries: initial.entries });
      state = merged.storage.load();
    }
    if (state.snapshot !== undefined) merged.restore(state.snapshot.data);
    try {
      this.#core = new RaftCore(
        {
          id: merged.id,
          random: merged.random ?? new SeededRandom(randomInt(0x7fffffff)),
          electionTicks: merged.electionTicks,
          heartbeatTicks: merged.heartbeatTicks,
          ...(merged.quorumTicks === undefined ? {} : { quorumTicks: merged.quorumTicks }),
          preVote: merged.preVote,
          checkQuorum: merged.checkQuorum,
        },
        state,
      );
    } catch (err) {
      throw new RingpoolError('CONFIG', `cannot start Raft node ${merged.id}: ${(err as Error).message}`, { cause: err });
    }
    merged.transport.setPeers?.(this.#core.conf.voters);
  }

  // ── Lifecycle ──────────────────────────────────────────────────────────────────────────────

  /** Starts ticking; committed entries not yet applied (after a restart) are applied right away. */
  start(): void {
    if (this.#stopped) throw new RingpoolError('CONFLICT', `Raft node ${this.id} was stopped; create a new driver to restart it`);
    if (this.#started) return;
    this.#started = true;
    this.#tickedAt = performance.now();
    this.#process();
    this.#planTick();
  }

  /** Stops ticking, fails every waiting request with CANCELLED, closes storage and transport. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#ticker !== undefined) clearTimeout(this.#ticker);
    this.#ticker = undefined;
    this.#failAll(new RingpoolError('CANCELLED', `Raft node ${this.id} stopped`));
    this.#options.storage.close();
    await this.#options.transport.close?.();
  }

  get isLeader(): boolean {
    return this.#core.role === 'leader';
  }

  /** Whether this node may become leader (see RaftCore.setMayLead); a leader that may not should transfer. */
  setMayLead(mayLead: boolean): void {
    this.#assertRunning();
    this.#catchUp();
    this.#core.setMayLead(mayLead);
    this.#planTick();
  }

  get leaderId(): NodeId | undefined {
    return this.#core.leaderId === NONE ? undefined : this.#core.leaderId;
  }

  get term(): number {
    return this.#core.term;
  }

  // ── Inputs ─────────────────────────────────────────────────────────────────────────────────

  /** Hand in messages from the transport. Messages for another node are ignored. */
  receive(messages: readonly RaftMessage[]): void {
    this.#whenIdle(() => {
      if (this.#stopped) return;
      // The ticks slept through are counted first: the message meets the core at the right time.
      this.#catchUp();
      for (const m of messages) {
        try {
          this.#core.step(m);
        } catch (err) {
          // Only a message no correct peer sends gets here (checked before any state changes): drop it.
          this.#options.onError?.(new RingpoolError('BAD_INPUT', `dropped a ${m.type} from ${m.from}: ${(err as Error).message}`, { cause: err }));
        }
      }
      this.#process();
    });
  }

  /** Replicates a command; resolves once it is committed and applied on this node. */
  propose(command: Command): Promise<AppliedPosition> {
    return this.#whenApplied(() => this.#core.propose(command));
  }

  /** Adds one voter (Raft thesis §4.1); `url` is where the transport reaches it. */
  addNode(id: NodeId, url: string): Promise<AppliedPosition> {
    return this.#confChange({ type: 'add', id, address: url });
  }

  /** Removes one voter; removing the leader itself makes it step down once committed. */
  removeNode(id: NodeId): Promise<AppliedPosition> {
    return this.#confChange({ type: 'remove', id });
  }

  /**
   * A linearizable read point (ReadIndex, thesis §6.4): resolves with an index once this node has
   * confirmed it still leads and has applied at least that far. Rejects NOT_LEADER on a follower.
   */
  readIndex(): Promise<number> {
    this.#assertRunning();
    const context = `${this.id}/${++this.#readSeq}`;
    return new Promise<number>((resolve, reject) => this.#whenIdle(() => {
      const refused = this.#core.readIndex(context);
      if (!refused.ok) {
        reject(this.#refusalError(refused));
        return;
      }
      this.#reads.set(context, this.#waiter(resolve, reject, 'linearizable read', () => this.#reads.delete(context)));
      this.#process();
    }));
  }

  /**
   * Runs `query` against the local state machine. 'linearizable' (the default) first obtains a ReadIndex,
   * so it works only on the leader; 'local' answers anywhere and says when the answer may be stale.
   */
  async read<T>(query: () => T, options: { consistency?: 'linearizable' | 'local' } = {}): Promise<ReadResult<T>> {
    if ((options.consistency ?? 'linearizable') === 'linearizable') {
      await this.readIndex();
      return { value: query(), possiblyStale: false, appliedIndex: this.#core.appliedIndex };
    }
    return { value: query(), possiblyStale: !this.isLeader, appliedIndex: this.#core.appliedIndex };
  }

  /**
   * Hands leadership to `to` (default: the most up-to-date follower) and resolves with the new leader's id
   * once it leads; rejects with TIMEOUT if that does not happen within two election timeouts (thesis §3.10).
   */
  transferLeadership(to?: NodeId): Promise<NodeId> {
    this.#assertRunning();
    return new Promise<NodeId>((resolve, reject) => this.#whenIdle(() => {
      if (!this.isLeader) {
        reject(new RingpoolError('NOT_LEADER', `${this.id} is not the leader; leadership can only be transferred by the leader`, { details: { leaderId: this.leaderId } }));
        return;
      }
      const target = to ?? this.#mostUpToDateFollower();
      if (target === undefined || target === this.id) {
        resolve(this.id);
        return;
      }
      const r = this.#core.transferLeadership(target);
      if (!r.ok) {
        reject(this.#refusalError(r));
        return;
      }
      const entry = { to: target, waiter: undefined as unknown as Waiter<NodeId> };
      entry.waiter = this.#waiter(resolve, reject, `leadership transfer to ${target}`, () => this.#transfers.delete(entry), 2 * this.#options.electionTicks * 2 * this.#options.tickMs);
      this.#transfers.add(entry);
      this.#process();
    }));
  }

  onLeaderChange(listener: LeaderChangeListener): () => void {
    this.#leaderListeners.add(listener);
    return () => this.#leaderListeners.delete(listener);
  }

  status(): RaftStatus {
    const s = this.#core.status();
    const peers = s.conf.voters
      .filter((v) => v.id !== this.id)
      .map((v): RaftPeerStatus => {
        const pr = s.progress.get(v.id);
        if (pr === undefined) return { id: v.id, url: v.address };
        return {
          id: v.id,
          url: v.address,
          matchIndex: pr.match,
          ...(pr.ticksSinceContact === undefined ? {} : { lastContactMs: pr.ticksSinceContact * this.#options.tickMs }),
        };
      });
    return { id: this.id, role: s.role, term: s.term, leaderId: this.leaderId, commitIndex: s.commitIndex, appliedIndex: s.appliedIndex, peers };
  }

  /** The current voting members. */
  members(): readonly Member[] {
    return this.#core.conf.voters;
  }

  // ── The Ready loop ─────────────────────────────────────────────────────────────────────────

  /**
   * The core's ticks, without waking for those that only count time (RaftCore.quietTicks): a
   * follower wakes at its election timeout, a leader at its heartbeats, a group of one at its
   * check-quorum timeout, instead of every `tickMs` (docs/performance.md, "Round two"). Ticks slept
   * through are handed in, by the clock, before any message is stepped and when the timer fires;
   * after a stall (a frozen process), as with an interval timer, the ticks missed beyond the next
   * acting one are dropped rather than replayed.
   */
  #tick(): void {
    this.#ticker = undefined;
    this.#wakeAt = Infinity;
    if (this.#stopped) return;
    const quiet = this.#core.quietTicks();
    // A timer may fire a fraction of a millisecond early by this clock: 1 ms of slack, or it would wake again at once.
    const due = Math.floor((performance.now() - this.#tickedAt + 1) / this.#options.tickMs);
    const n = Math.min(due, quiet + 1);
    for (let i = 0; i < n; i++) this.#core.tick();
    this.#tickedAt = due > n ? performance.now() : this.#tickedAt + n * this.#options.tickMs;
    this.#process();
    this.#planTick();
  }

  /** Hands in the ticks due by the clock that only count time (before an input meets the core). */
  #catchUp(): void {
    if (!this.#started || this.#stopped) return;
    const due = Math.floor((performance.now() - this.#tickedAt) / this.#options.tickMs);
    const n = Math.min(due, this.#core.quietTicks());
    for (let i = 0; i < n; i++) this.#core.tick();
    this.#tickedAt += n * this.#options.tickMs;
  }

  /** (Re)arms the timer for the first tick that may act, if that is sooner than it is armed for. */
  #planTick(): void {
    if (!this.#started || this.#stopped || this.#processing) return;
    const at = this.#tickedAt + (this.#core.quietTicks() + 1) * this.#options.tickMs;
    if (this.#ticker !== undefined && this.#wakeAt <= at) return;
    if (this.#ticker !== undefined) clearTimeout(this.#ticker);
    this.#wakeAt = at;
    this.#ticker = setTimeout(() => this.#tick(), Math.max(0, at - performance.now()));
  }

  /** Persist (fsync), then send, then apply, then advance (Raft Figure 2: respond after persisting). */
  #process(): void {
    if (this.#processing || this.#stopped) return;
    this.#processing = true;
    let handled = false;
    try {
      while (this.#core.hasReady()) {
        handled = true;
        const rd = this.#core.ready();
        try {
          this.#handleReady(rd);
        } finally {
          this.#core.advance();
        }
        this.#maybeCompact();
      }
    } catch (err) {
      this.#fatal(err as Error);
    } finally {
      this.#processing = false;
    }
    // An input may have brought an acting tick nearer (a new leader heartbeats; a node may lead again).
    if (this.#started) this.#planTick();
    if (handled) this.#options.onProcessed?.();
  }

  #handleReady(rd: Ready): void {
    if (rd.hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined) {
      this.#options.storage.save({
        ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
        entries: rd.entries,
        ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
      });
    }
    if (rd.entries.some((e) => e.kind === 'config') || rd.snapshot !== undefined) this.#membershipChanged();
    this.#sendAll(rd.messages);
    if (rd.snapshot !== undefined) {
      this.#options.restore(rd.snapshot.data);
      this.#settleProposalsUpTo(rd.snapshot.index);
    }
    for (const e of rd.committedEntries) this.#applyEntry(e);
    for (const rs of rd.readStates) {
      const waiter = this.#reads.get(rs.context);
      if (waiter === undefined) continue;
      this.#reads.delete(rs.context);
      this.#readsAwaitingApply.push({ index: rs.index, waiter });
    }
    if (rd.softState !== undefined) this.#onSoftState(rd.softState.leaderId, rd.softState.term, rd.softState.role);
    this.#releaseReads();
  }

  #sendAll(messages: readonly RaftMessage[]): void {
    const byPeer = new Map<NodeId, RaftMessage[]>();
    for (const m of messages) {
      let list = byPeer.get(m.to);
      if (list === undefined) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    for (const [to, list] of byPeer) this.#options.transport.send(to, list);
  }

  #applyEntry(e: Entry): void {
    if (e.kind === 'command') this.#options.apply(e.command as Command, { index: e.index, term: e.term });
    const pending = this.#proposals.get(e.index);
    if (pending !== undefined) {
      this.#proposals.delete(e.index);
      clearTimeout(pending.timer);
      if (pending.term === e.term) pending.resolve({ index: e.index, term: e.term });
      else pending.reject(new RingpoolError('NOT_LEADER', `the proposal at index ${e.index} was replaced by a new leader's entry; retry on the leader`, { details: { leaderId: this.leaderId } }));
    }
  }

  /** After a snapshot install, proposals at or below its index cannot be matched to their entry any more. */
  #settleProposalsUpTo(index: number): void {
    for (const [i, p] of this.#proposals) {
      if (i > index) continue;
      this.#proposals.delete(i);
      clearTimeout(p.timer);
      p.reject(new RingpoolError('NOT_LEADER', `the outcome of the proposal at index ${i} is unknown after a snapshot install; retry if it is idempotent`, { details: { leaderId: this.leaderId } }));
    }
  }

  #releaseReads(): void {
    const applied = this.#core.appliedIndex;
    const ready = this.#readsAwaitingApply.filter((r) => r.index <= applied);
    if (ready.length === 0) return;
    this.#readsAwaitingApply = this.#readsAwaitingApply.filter((r) => r.index > applied);
    for (const r of ready) {
      clearTimeout(r.waiter.timer);
      r.waiter.resolve(r.index);
    }
  }

  #onSoftState(leaderId: NodeId, term: number, role: Role): void {
    if (role !== 'leader') {
      // ReadIndex rounds of a former leader can never complete (thesis §6.4).
      const lost = new RingpoolError('NOT_LEADER', `${this.id} lost leadership before the read was confirmed`, { details: { leaderId: leaderId === NONE ? undefined : leaderId } });
      for (const [ctx, w] of this.#reads) {
        clearTimeout(w.timer);
        w.reject(lost);
        this.#reads.delete(ctx);
      }
    }
    for (const t of this.#transfers) {
      if (leaderId === t.to) {
        this.#transfers.delete(t);
        clearTimeout(t.waiter.timer);
        t.waiter.resolve(t.to);
      }
    }
    if (leaderId === this.#lastLeader.leaderId && term === this.#lastLeader.term) return;
    this.#lastLeader = { leaderId, term };
    for (const listener of this.#leaderListeners) {
      try {
        listener(leaderId === NONE ? undefined : leaderId, term, leaderId === this.id);
      } catch (err) {
        this.#options.onError?.(err as Error);
      }
    }
  }

  #membershipChanged(): void {
    const voters = this.#core.conf.voters;
    this.#options.transport.setPeers?.(voters);
    this.#options.onMembershipChange?.(voters);
  }

  #maybeCompact(): void {
    const applied = this.#core.appliedIndex;
    if (applied - this.#core.snapshot.index < this.#options.snapshotEvery) return;
    const snapshot = this.#core.compact(applied, this.#options.snapshot());
    this.#options.storage.compact(snapshot);
  }

  // ── Helpers ────────────────────────────────────────────────────────────────────────────────

  #whenApplied(submit: () => ReturnType<RaftCore['propose']>): Promise<AppliedPosition> {
    return new Promise<AppliedPosition>((resolve, reject) => this.#whenIdle(() => {
      if (this.#stopped) {
        reject(new RingpoolError('CANCELLED', `Raft node ${this.id} is stopped`));
        return;
      }
      const r = submit();
      if (!r.ok) {
        reject(this.#refusalError(r));
        return;
      }
      const waiter = this.#waiter(resolve, reject, `entry ${r.index}`, () => this.#proposals.delete(r.index));
      this.#proposals.set(r.index, { ...waiter, term: r.term });
      this.#process();
    }));
  }

  #confChange(change: ConfChange): Promise<AppliedPosition> {
    return this.#whenApplied(() => this.#core.proposeConfChange(change));
  }

  #waiter<T>(resolve: (v: T) => void, reject: (e: Error) => void, what: string, forget: () => void, timeoutMs = this.#options.requestTimeoutMs): Waiter<T> {
    const timer = setTimeout(() => {
      forget();
      reject(new RingpoolError('TIMEOUT', `${what} did not complete within ${timeoutMs} ms`, { details: { leaderId: this.leaderId } }));
    }, timeoutMs);
    return { resolve, reject, timer };
  }

  #refusalError(r: Refusal): RingpoolError {
    const leaderId = r.leaderId === NONE ? undefined : r.leaderId;
    switch (r.reason) {
      case 'not-leader':
      case 'transfer-in-progress':
        return new RingpoolError('NOT_LEADER', `${this.id}: ${r.message}${leaderId === undefined ? '' : `; the leader is ${leaderId}`}`, { details: { leaderId, reason: r.reason } });
      case 'config-change-pending':
        return new RingpoolError('CONFLICT', r.message, { details: { leaderId } });
      case 'invalid-config-change':
        return new RingpoolError('BAD_INPUT', r.message, { details: { leaderId } });
      case 'too-many-uncommitted':
        return new RingpoolError('RATE_LIMITED', r.message, { details: { leaderId } });
    }
  }

  #mostUpToDateFollower(): NodeId | undefined {
    let best: { id: NodeId; match: number } | undefined;
    for (const [id, pr] of this.#core.status().progress) {
      if (id === this.id) continue;
      if (best === undefined || pr.match > best.match) best = { id, match: pr.match };
    }
    return best?.id;
  }

  /** Callbacks (apply, listeners) run while a Ready is being handled; what they ask of the core waits for it. */
  #whenIdle(fn: () => void): void {
    if (this.#processing) queueMicrotask(() => this.#whenIdle(fn));
    else fn();
  }

  #assertRunning(): void {
    if (this.#stopped) throw new RingpoolError('CANCELLED', `Raft node ${this.id} is stopped`);
  }

  #failAll(err: Error): void {
    for (const p of this.#proposals.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#proposals.clear();
    for (const w of this.#reads.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#reads.clear();
    for (const r of this.#readsAwaitingApply) {
      clearTimeout(r.waiter.timer);
      r.waiter.reject(err);
    }
    this.#readsAwaitingApply = [];
    for (const t of this.#transfers) {
      clearTimeout(t.waiter.timer);
      t.waiter.reject(err);
    }
    this.#transfers.clear();
  }

  /** A failed fsync (or a broken invariant) leaves the durable state unknown: stop, and let a restart recover. */
  #fatal(err: Error): void {
    this.#options.onError?.(err);
    void this.stop().catch(() => {});
  }
}

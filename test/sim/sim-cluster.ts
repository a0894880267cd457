// A whole Raft cluster in one process: virtual clock, faulty network, crashes that keep only what was persisted.
import { bootstrapState, joinerState, RaftCore, type AcceptResult, type ConfChange, type ProposalResult } from '../../src/raft/core.js';
import { SeededRandom } from '../../src/raft/random.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { Entry, NodeId, RaftMessage, Snapshot } from '../../src/raft/types.js';
import { EventQueue } from './event-queue.js';
import { fingerprint, InvariantChecker, nextDigest } from './invariants.js';

export interface SimClusterOptions {
  readonly seed: number;
  /** Initial voters. */
  readonly voters: number;
  /** Extra nodes that start empty, outside the configuration, for membership changes. @default 1 */
  readonly spares?: number;
  /** Virtual milliseconds per tick. @default 50 */
  readonly tickMs?: number;
  /** @default 10 */
  readonly electionTicks?: number;
  /** @default 2 */
  readonly heartbeatTicks?: number;
  /** Compact once this many applied entries follow the snapshot. @default drawn from [4, 40) per seed */
  readonly compactEvery?: number;
  /** Entries per AppendEntries; small values split replication into many partial acknowledgements. @default drawn from {1, 3, 64} per seed */
  readonly maxEntriesPerMessage?: number;
  /** Message delay is drawn from [1, maxDelayMs]. @default 20 */
  readonly maxDelayMs?: number;
}

/** Counts of what was done to the cluster. */
export interface FaultCounts {
  partitions: number;
  oneWayCuts: number;
  isolations: number;
  heals: number;
  crashes: number;
  restarts: number;
  confChanges: number;
  transfers: number;
  networkChanges: number;
  messagesDropped: number;
  messagesDuplicated: number;
}

/** The simulated replicated state machine: a rolling digest of every applied entry. */
interface SimStateMachine {
  lastApplied: number;
  digest: number;
}

interface SnapshotData {
  readonly digest: number;
}

export class SimNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  core: RaftCore | undefined;
  sm: SimStateMachine = { lastApplied: 0, digest: 0 };
  /** The term in which this node was last seen leading (to notice it becoming leader). */
  ledTerm = -1;

  constructor(id: NodeId, storage: MemoryStorage) {
    this.id = id;
    this.storage = storage;
  }

  get alive(): boolean {
    return this.core !== undefined;
  }
}

export class SimCluster {
  readonly rng: SeededRandom;
  readonly queue = new EventQueue();
  readonly checker = new InvariantChecker();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly voterCount: number;
  readonly faults: FaultCounts = {
    partitions: 0,
    oneWayCuts: 0,
    isolations: 0,
    heals: 0,
    crashes: 0,
    restarts: 0,
    confChanges: 0,
    transfers: 0,
    networkChanges: 0,
    messagesDropped: 0,
    messagesDuplicated: 0,
  };
  steps = 0;
  snapshotsSent = 0;
  dropRate = 0;
  duplicateRate = 0;
  maxDelayMs: number;
  /** Directed links that are cut: `${from}>${to}`. */
  readonly #cut = new Set<string>();
  readonly #tickMs: number;
  readonly #electionTicks: number;
  readonly #heartbeatTicks: number;
  readonly #compactEvery: number;
  readonly #maxEntriesPerMessage: number;
  #seq = 0;
  /** Optional observer of every message delivered (scenario tests). */
  onDeliver: ((m: RaftMessage) => boolean) | undefined;

  constructor(options: SimClusterOptions) {
    this.rng = new SeededRandom(options.seed);
    this.voterCount = options.voters;
    this.#tickMs = options.tickMs ?? 50;
    this.#electionTicks = options.electionTicks ?? 10;
    this.#heartbeatTicks = options.heartbeatTicks ?? 2;
    this.#compactEvery = options.compactEvery ?? 4 + this.rng.nextInt(36);
    this.#maxEntriesPerMessage = options.maxEntriesPerMessage ?? this.rng.pick([1, 3, 64]);
    this.maxDelayMs = options.maxDelayMs ?? 20;
    const spares = options.spares ?? 1;
    const voterIds = Array.from({ length: options.voters }, (_, i) => `n${i + 1}`);
    const members = voterIds.map((id) => ({ id, address: `sim://${id}` }));
    for (let i = 0; i < options.voters + spares; i++) {
      const id = `n${i + 1}`;
      const initial = i < options.voters ? bootstrapState(members) : joinerState();
      this.checker.registerInitialEntries(id, initial.entries);
      const node = new SimNode(id, new MemoryStorage(initial));
      this.nodes.set(id, node);
      this.#boot(node);
      const phase = this.rng.nextInt(this.#tickMs);
      this.queue.schedule(phase, () => this.#tickLoop(node));
    }
  }

  get now(): number {
    return this.queue.now;
  }

  get ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  liveCores(): RaftCore[] {
    const out: RaftCore[] = [];
    for (const n of this.nodes.values()) if (n.core !== undefined) out.push(n.core);
    return out;
  }

  /** Live nodes that believe they lead, highest term first. */
  leaders(): SimNode[] {
    return [...this.nodes.values()]
      .filter((n) => n.core?.role === 'leader')
      .sort((a, b) => (b.core?.term ?? 0) - (a.core?.term ?? 0));
  }

  leader(): SimNode | undefined {
    return this.leaders()[0];
  }

  // ── Running ────────────────────────────────────────────────────────────────────────────────

  /** Run events until virtual time `ms` from now, checking every invariant after each one. */
  runFor(ms: number): void {
    const until = this.now + ms;
    while (this.queue.runNext(until)) {
      this.steps++;
      this.checker.afterStep(this.liveCores());
      if (this.steps % 512 === 0) this.checker.checkLogsPairwise(this.liveCores());
    }
    this.#advanceClockTo(until);
  }

  /** Run until `done()` holds (checked every `stepMs`), up to `maxMs`; returns whether it did. */
  runUntil(done: () => boolean, maxMs: number, stepMs = 10): boolean {
    const deadline = this.now + maxMs;
    while (this.now < deadline) {
      if (done()) return true;
      this.runFor(Math.min(stepMs, deadline - this.now));
    }
    return done();
  }

  #advanceClockTo(until: number): void {
    // Park a no-op at `until` so the clock reaches it even when nothing else is due.
    if (this.now < until) {
      this.queue.schedule(until - this.now, () => {});
      while (this.queue.runNext(until)) {
        this.steps++;
        this.checker.afterStep(this.liveCores());
      }
    }
  }

  schedule(delayMs: number, run: () => void): void {
    this.queue.schedule(delayMs, run);
  }

  // ── Node lifecycle ─────────────────────────────────────────────────────────────────────────

  #boot(node: SimNode): void {
    const state = node.storage.load();
    node.core = new RaftCore(
      { id: node.id, random: this.rng.fork(), electionTicks: this.#electionTicks, heartbeatTicks: this.#heartbeatTicks, maxEntriesPerMessage: this.#maxEntriesPerMessage },
      state,
    );
    node.sm = state.snapshot === undefined ? { lastApplied: 0, digest: 0 } : { lastApplied: state.snapshot.index, digest: (state.snapshot.data as SnapshotData).digest };
    node.ledTerm = -1;
  }

  crash(id: NodeId): void {
    const node = this.node(id);
    if (node.core === undefined) return;
    node.core = undefined; // whatever was not persisted is gone
    this.faults.crashes++;
  }

  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.core !== undefined) return;
    this.#boot(node);
    this.faults.restarts++;
    const core = node.core as unknown as RaftCore;
    if (core.snapshot.index > 0) this.checker.onRestore(id, core.snapshot.index, node.sm.digest);
    this.checker.onRestart(core);
    this.process(node);
  }

  #tickLoop(node: SimNode): void {
    if (node.core !== undefined) {
      node.core.tick();
      this.process(node);
    }
    this.queue.schedule(this.#tickMs, () => this.#tickLoop(node));
  }

  // ── Network ────────────────────────────────────────────────────────────────────────────────

  isCut(from: NodeId, to: NodeId): boolean {
    return this.#cut.has(`${from}>${to}`);
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.#cut.add(`${from}>${to}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.#cut.add(`${id}>${other}`);
      this.#cut.add(`${other}>${id}`);
    }
  }

  /** Full partition: nodes in different groups cannot talk either way. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    for (const a of this.nodes.keys()) {
      for (const b of this.nodes.keys()) {
        if (a !== b && groupOf.get(a) !== groupOf.get(b)) this.#cut.add(`${a}>${b}`);
      }
    }
  }

  heal(): void {
    this.#cut.clear();
  }

  #send(m: RaftMessage): void {
    if (m.type === 'snapshot') this.snapshotsSent++;
    if (this.isCut(m.from, m.to) || (this.dropRate > 0 && this.rng.chance(this.dropRate))) {
      this.faults.messagesDropped++;
      return;
    }
    this.queue.schedule(1 + this.rng.nextInt(this.maxDelayMs), () => this.#deliver(m));
    if (this.duplicateRate > 0 && this.rng.chance(this.duplicateRate)) {
      this.faults.messagesDuplicated++;
      this.queue.schedule(1 + this.rng.nextInt(this.maxDelayMs * 3), () => this.#deliver(m));
    }
  }

  #deliver(m: RaftMessage): void {
    if (this.isCut(m.from, m.to)) {
      this.faults.messagesDropped++;
      return;
    }
    const node = this.nodes.get(m.to);
    if (node?.core === undefined) return;
    if (this.onDeliver !== undefined && !this.onDeliver(m)) return;
    node.core.step(m);
    this.process(node);
  }

  // ── Client ─────────────────────────────────────────────────────────────────────────────────

  propose(id: NodeId, command: unknown = `c${this.#seq++}`): ProposalResult | undefined {
    const node = this.node(id);
    if (node.core === undefined) return undefined;
    const result = node.core.propose(command);
    this.process(node);
    return result;
  }

  proposeConfChange(id: NodeId, change: ConfChange): ProposalResult | undefined {
    const node = this.node(id);
    if (node.core === undefined) return undefined;
    const result = node.core.proposeConfChange(change);
    this.process(node);
    return result;
  }

  transferLeadership(id: NodeId, to: NodeId): AcceptResult | undefined {
    const node = this.node(id);
    if (node.core === undefined) return undefined;
    const result = node.core.transferLeadership(to);
    this.process(node);
    return result;
  }

  readIndex(id: NodeId): AcceptResult | undefined {
    const node = this.node(id);
    if (node.core === undefined) return undefined;
    const context = `r${this.#seq++}`;
    const floor = this.checker.maxCommitted;
    const result = node.core.readIndex(context);
    if (result.ok) this.checker.onReadStarted(context, floor);
    this.process(node);
    return result;
  }

  nextCommand(): string {
    return `c${this.#seq++}`;
  }

  // ── The Ready loop: persist, then send, then apply (Raft Figure 2) ────────────────────────

  process(node: SimNode): void {
    const core = node.core;
    if (core === undefined) return;
    while (core.hasReady()) {
      const rd = core.ready();
      if (rd.hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined) {
        node.storage.save({ ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }), entries: rd.entries, ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }) });
        this.checker.onPersisted(node.id, rd.hardState, rd.entries, core, rd.snapshot);
      }
      if (core.role === 'leader' && node.ledTerm !== core.term) {
        node.ledTerm = core.term;
        this.checker.onBecameLeader(core);
      }
      const persisted = node.storage.load().hardState;
      for (const m of rd.messages) {
        this.checker.onSend(node.id, m, persisted);
        this.#send(m);
      }
      if (rd.snapshot !== undefined) this.#restore(node, rd.snapshot);
      for (const e of rd.committedEntries) this.#apply(node, e);
      for (const rs of rd.readStates) this.checker.onReadState(node.id, rs);
      core.advance();
      if (core.appliedIndex - core.snapshot.index >= this.#compactEvery) {
        const data: SnapshotData = { digest: node.sm.digest };
        node.storage.compact(core.compact(core.appliedIndex, data));
      }
    }
  }

  #restore(node: SimNode, snapshot: Snapshot): void {
    node.sm = { lastApplied: snapshot.index, digest: (snapshot.data as SnapshotData).digest };
    this.checker.onRestore(node.id, snapshot.index, node.sm.digest);
  }

  #apply(node: SimNode, e: Entry): void {
    if (e.index !== node.sm.lastApplied + 1) this.checker.fail(`${node.id} applied index ${e.index} after ${node.sm.lastApplied}: a gap or a repeat`);
    node.sm.lastApplied = e.index;
    node.sm.digest = nextDigest(node.sm.digest, `${e.term}|${fingerprint(e)}`);
    this.checker.onApply(node.id, e, node.sm.digest);
  }
}

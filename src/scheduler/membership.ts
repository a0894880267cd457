// The live worker nodes as the scheduler sees them: registrations whose lease has not lapsed.
import type { WorkerStore } from '../store/worker-store.js';
import { verifyRegistration } from '../transport/registration-signature.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';
import { IdleBackoff } from './idle-backoff.js';

export interface MemberNode {
  readonly id: string;
  /** Thread count: the node's weight on the ring. */
  readonly weight: number;
}

export interface DepartedNode {
  readonly id: string;
  /** Its lease lapsed: it is presumed dead, so its running tasks move too. */
  readonly lapsed: boolean;
  /** When it last renewed its lease (ms since the epoch). */
  readonly heartbeatAt: number;
}

export interface Membership {
  /** Live, non-draining nodes, sorted by id. */
  current(): readonly MemberNode[];
  /** Resolves once at least one node is live, or rejects when `signal` aborts. */
  waitForNodes(signal?: AbortSignal): Promise<readonly MemberNode[]>;
  /**
   * Registered nodes that take no new tasks: draining ones (their waiting tasks move, running
   * ones finish) and lapsed ones (all their tasks move).
   */
  departed(): readonly DepartedNode[];
  /** Drops a departed node's registration once its tasks have moved. */
  forget(id: string): Promise<void>;
  /** Calls `listener` when the members or the departed nodes change (where the membership can tell). */
  onChange?(listener: () => void): () => void;
}

export interface RegistryMembershipOptions {
  /** A registration older than this is not live, ms. @default 2000 */
  readonly leaseMs?: number;
  /** How often the registrations are read while they change, ms. @default 250 */
  readonly pollMs?: number;
  /**
   * How often at most they are read while nothing changes, ms: the delay doubles from `pollMs` up
   * to this; a lease about to lapse is read at its end whatever the delay. @default 1000
   */
  readonly idlePollMs?: number;
  /** When set, only registrations signed with it (and fresh) are admitted; others are counted. */
  readonly clusterSecret?: string;
  /**
   * A node whose registering connection (its `conn`) is closed is taken for dead once it is still
   * closed and the registration unchanged this much later, ms: a reconnecting node registers its
   * new connection well within it. 0: connections are not looked at (the lease alone). @default 150
   */
  readonly connectionGraceMs?: number;
}

/** What a registration says, as the scheduler reads it. */
interface Registration {
  readonly id: string;
  readonly threads: number;
  readonly heartbeatAt: number;
  readonly draining?: boolean;
  /** Threads running a task now. */
  readonly busy?: number;
  /** The client id of the connection that writes it (worker-node.ts). */
  readonly conn?: number;
}

/** Reads the worker registrations the worker nodes heartbeat into. */
export class RegistryMembership implements Membership {
  readonly #workers: WorkerStore;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #secret: string | undefined;
  /** Registrations refused: unsigned, wrongly signed, or stale (replayed). */
  rejectedRegistrations = 0;
  #nodes: readonly MemberNode[] = [];
  #departed: readonly DepartedNode[] = [];
  /** Cancels the next read's timer. */
  #cancelPoll: () => void = () => {};
  #polling = false;
  readonly #backoff: IdleBackoff;
  /** When the first live node's lease lapses (ms since the epoch) if it does not heartbeat again. */
  #nextLapseAt = Infinity;
  readonly #graceMs: number;
  /** False once the server refused CLIENT LIST: the lease alone, from then on. */
  #checkConnections: boolean;
  /**
   * The registrations as first read on this connection (by `WorkerStore.readyAt`): client ids are
   * the server's own, so only a registration rewritten since (its node connected to the same server
   * as this reader) has a `conn` worth looking up.
   */
  #era: { readyAt: number; raws: Map<string, string> } | undefined;
  /** Nodes whose registering connection was seen closed: since when, and which connection. */
  readonly #closedSince = new Map<string, { conn: number; raw: string; at: number }>();
  /** Some node runs tasks: a death costs time now, so the registrations are read at the short delay. */
  #busy = false;
  /** When a closed connection's grace ends, if one is running (ms since the epoch). */
  #nextConfirmAt = Infinity;
  readonly #listeners = new Set<() => void>();

  constructor(workers: WorkerStore, options: RegistryMembershipOptions = {}) {
    this.#workers = workers;
    this.#leaseMs = options.leaseMs ?? 2000;
    this.#pollMs = options.pollMs ?? 250;
    this.#secret = options.clusterSecret;
    this.#graceMs = options.connectionGraceMs ?? 150;
    this.#checkConnections = this.#graceMs > 0;
    this.#backoff = new IdleBackoff({ minMs: this.#pollMs, maxMs: Math.max(this.#pollMs, options.idlePollMs ?? 1000) });
  }

  async start(): Promise<void> {
    await this.refresh();
    this.#polling = true;
    this.#after(this.#pollMs);
  }

  stop(): void {
    this.#polling = false;
    this.#cancelPoll();
  }

  /** The next read in `ms`: a wait of a second or more (an idle pool) on the process's idle grid, with its other idle loops. */
  #after(ms: number): void {
    if (ms >= 2 * IDLE_GRID_MS) {
      this.#cancelPoll = idleGrid.after(ms, () => void this.#poll());
      return;
    }
    const timer = setTimeout(() => void this.#poll(), ms);
    this.#cancelPoll = () => clearTimeout(timer);
  }

  /** One read, then the next one: sooner while the members change, and no later than the next lease's end. */
  async #poll(): Promise<void> {
    const before = this.#signature();
    let changed = true;
    try {
      await this.refresh();
      changed = this.#signature() !== before;
    } catch {
      // Redis trouble: read again soon.
    }
    if (!this.#polling) return;
    if (changed) for (const listener of this.#listeners) listener();
    const now = Date.now();
    const untilLapse = Math.max(1, this.#nextLapseAt + 1 - now);
    const untilConfirm = Math.max(1, this.#nextConfirmAt + 1 - now);
    this.#after(Math.min(this.#backoff.next(changed || this.#busy), untilLapse, untilConfirm));
  }

  /** Calls `listener` after each read that changed the members (live nodes, weights, departed nodes). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** What a change of membership changes: live nodes and their weights, departed nodes. */
  #signature(): string {
    return `${this.#nodes.map((n) => `${n.id}:${n.weight}`).join(',')}|${this.#departed.map((d) => `${d.id}:${d.lapsed}`).join(',')}`;
  }

  async refresh(now: number = Date.now()): Promise<readonly MemberNode[]> {
    const all = await this.#workers.registrations();
    const verified: Array<{ r: Registration; raw: string }> = [];
    for (const raw of all) {
      const r = verifyRegistration<Registration>(raw, this.#secret, now);
      if (r === undefined) this.rejectedRegistrations++;
      else verified.push({ r, raw });
    }
    const readyAt = this.#workers.readyAt;
    if (this.#era?.readyAt !== readyAt) this.#era = { readyAt, raws: new Map(verified.map(({ r, raw }) => [r.id, raw])) };
    // While no node runs a task a death costs nothing yet: the lease alone, and no CLIENT LIST for an idle pool.
    this.#nextConfirmAt = Infinity;
    const anyBusy = verified.some(({ r }) => (Number(r.busy) || 0) > 0 && now - r.heartbeatAt <= this.#leaseMs);
    const closed = anyBusy || this.#closedSince.size > 0 ? await this.#closedConnections(verified, now) : new Set<string>();
    const nodes: MemberNode[] = [];
    const departed: DepartedNode[] = [];
    let nextLapseAt = Infinity;
    let busy = false;
    for (const { r } of verified) {
      // A closed connection is a dead process (SIGKILL, a crash): as good as a lapsed lease.
      const lapsed = now - r.heartbeatAt > this.#leaseMs || closed.has(r.id);
      if (lapsed || r.draining) departed.push({ id: r.id, lapsed, heartbeatAt: r.heartbeatAt });
      else nodes.push({ id: r.id, weight: r.threads });
      if (!lapsed) nextLapseAt = Math.min(nextLapseAt, r.heartbeatAt + this.#leaseMs);
      if (!lapsed && (Number(r.busy) || 0) > 0) busy = true;
    }
    this.#nextLapseAt = nextLapseAt;
    this.#busy = busy;
    nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#nodes = nodes;
    this.#departed = departed.sort((a, b) => (a.id < b.id ? -1 : 1));
    return nodes;
  }

  /**
   * The nodes whose registering connection has been closed for `connectionGraceMs` with their
   * registration unchanged meanwhile: a killed process's sockets close at once, so its death is
   * seen in a fraction of a second instead of at its lease's end. A live node whose event loop is
   * busy keeps its connection open, so load cannot make it look dead; a frozen one (SIGSTOP) keeps
   * it open too and is found by its lease. One CLIENT LIST ID per read (docs/architecture.md §5).
   */
  async #closedConnections(verified: ReadonlyArray<{ r: Registration; raw: string }>, now: number): Promise<Set<string>> {
    this.#nextConfirmAt = Infinity;
    if (!this.#checkConnections) return new Set();
    const era = this.#era;
    if (era === undefined) return new Set();
    const checkable = verified.filter(({ r, raw }) => typeof r.conn === 'number' && !r.draining && era.raws.get(r.id) !== raw);
    const ids = new Set(checkable.map(({ r }) => r.id));
    for (const id of this.#closedSince.keys()) if (!ids.has(id)) this.#closedSince.delete(id);
    if (checkable.length === 0) return new Set();
    let open: Set<number>;
    try {
      open = await this.#workers.openConnections(checkable.map(({ r }) => r.conn as number));
    } catch (err) {
      // A server that refuses CLIENT LIST (an ACL, a managed Redis): the lease alone, from now on.
      if ((err as Error).name === 'ReplyError') this.#checkConnections = false;
      return new Set();
    }
    const dead = new Set<string>();
    for (const { r, raw } of checkable) {
      if (open.has(r.conn as number)) {
        this.#closedSince.delete(r.id);
        continue;
      }
      const seen = this.#closedSince.get(r.id);
      if (seen === undefined || seen.conn !== r.conn || seen.raw !== raw) {
        this.#closedSince.set(r.id, { conn: r.conn as number, raw, at: now });
        this.#nextConfirmAt = Math.min(this.#nextConfirmAt, now + this.#graceMs);
      } else if (now - seen.at >= this.#graceMs) dead.add(r.id);
      else this.#nextConfirmAt = Math.min(this.#nextConfirmAt, seen.at + this.#graceMs);
    }
    return dead;
  }

  departed(): readonly DepartedNode[] {
    return this.#departed;
  }

  async forget(id: string): Promise<void> {
    await this.#workers.forget(id);
    this.#departed = this.#departed.filter((d) => d.id !== id);
  }

  current(): readonly MemberNode[] {
    return this.#nodes;
  }

  async waitForNodes(signal?: AbortSignal): Promise<readonly MemberNode[]> {
    for (;;) {
      if (this.#nodes.length > 0) return this.#nodes;
      if (signal?.aborted) throw signal.reason;
      await new Promise((r) => setTimeout(r, this.#pollMs));
      await this.refresh();
    }
  }
}

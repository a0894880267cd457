// The live worker nodes as the scheduler sees them: registrations whose lease has not lapsed.
import type { WorkerStore } from '../store/worker-store.js';
import { verifyRegistration } from '../transport/registration-signature.js';
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
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  readonly #backoff: IdleBackoff;
  /** When the first live node's lease lapses (ms since the epoch) if it does not heartbeat again. */
  #nextLapseAt = Infinity;

  constructor(workers: WorkerStore, options: RegistryMembershipOptions = {}) {
    this.#workers = workers;
    this.#leaseMs = options.leaseMs ?? 2000;
    this.#pollMs = options.pollMs ?? 250;
    this.#secret = options.clusterSecret;
    this.#backoff = new IdleBackoff({ minMs: this.#pollMs, maxMs: Math.max(this.#pollMs, options.idlePollMs ?? 1000) });
  }

  async start(): Promise<void> {
    await this.refresh();
    this.#polling = true;
    this.#timer = setTimeout(() => void this.#poll(), this.#pollMs);
  }

  stop(): void {
    this.#polling = false;
    clearTimeout(this.#timer);
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
    const untilLapse = Math.max(1, this.#nextLapseAt + 1 - Date.now());
    this.#timer = setTimeout(() => void this.#poll(), Math.min(this.#backoff.next(changed), untilLapse));
  }

  /** What a change of membership changes: live nodes and their weights, departed nodes. */
  #signature(): string {
    return `${this.#nodes.map((n) => `${n.id}:${n.weight}`).join(',')}|${this.#departed.map((d) => `${d.id}:${d.lapsed}`).join(',')}`;
  }

  async refresh(now: number = Date.now()): Promise<readonly MemberNode[]> {
    const all = await this.#workers.registrations();
    const nodes: MemberNode[] = [];
    const departed: DepartedNode[] = [];
    let nextLapseAt = Infinity;
    for (const raw of all) {
      const r = verifyRegistration<{ id: string; threads: number; heartbeatAt: number; draining?: boolean }>(raw, this.#secret, now);
      if (r === undefined) {
        this.rejectedRegistrations++;
        continue;
      }
      const lapsed = now - r.heartbeatAt > this.#leaseMs;
      if (lapsed || r.draining) departed.push({ id: r.id, lapsed, heartbeatAt: r.heartbeatAt });
      else nodes.push({ id: r.id, weight: r.threads });
      if (!lapsed) nextLapseAt = Math.min(nextLapseAt, r.heartbeatAt + this.#leaseMs);
    }
    this.#nextLapseAt = nextLapseAt;
    nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#nodes = nodes;
    this.#departed = departed.sort((a, b) => (a.id < b.id ? -1 : 1));
    return nodes;
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

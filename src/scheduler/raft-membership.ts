// Worker membership through Raft: the leader proposes what the heartbeats show; every scheduler places by what is committed.
import type { Logger } from 'pino';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';
import type { ConsensusNode } from './consensus.js';
import type { ControlState } from './control-state.js';
import type { Leadership } from './leadership.js';
import type { DepartedNode, MemberNode, Membership, RegistryMembership } from './membership.js';

export class RaftMembership implements Membership {
  readonly #registry: RegistryMembership;
  readonly #control: ControlState;
  readonly #node: ConsensusNode;
  readonly #leadership: Leadership;
  readonly #logger: Logger;
  #stopSafety: () => void = () => {};
  #retry: NodeJS.Timeout | undefined;
  #proposing = false;
  #again = false;
  #unsubscribe: Array<() => void> = [];

  constructor(deps: { registry: RegistryMembership; control: ControlState; node: ConsensusNode; leadership: Leadership; logger: Logger }) {
    this.#registry = deps.registry;
    this.#control = deps.control;
    this.#node = deps.node;
    this.#leadership = deps.leadership;
    this.#logger = deps.logger;
  }

  /**
   * Reconciles when the registrations change and when this scheduler comes to lead, so a dead
   * node leaves the ring as soon as it is seen (docs/performance.md, "Round two"), and every
   * `safetyMs` besides (no Redis: the two lists compared in memory).
   */
  async start(safetyMs = 2000): Promise<void> {
    await this.#registry.start();
    this.#unsubscribe = [this.#registry.onChange(() => void this.#reconcile()), this.#leadership.onChange(() => void this.#reconcile())];
    // On the idle grid, with the process's other idle loops, when the period fits it.
    const reconcile = () => void this.#reconcile();
    this.#stopSafety = safetyMs % IDLE_GRID_MS === 0 ? idleGrid.every(safetyMs, reconcile) : clearInterval.bind(null, setInterval(reconcile, safetyMs));
  }

  stop(): void {
    this.#stopSafety();
    clearTimeout(this.#retry);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#registry.stop();
  }

  /** Leader only: admits nodes whose heartbeats arrive and removes those whose lease lapsed. */
  async #reconcile(): Promise<void> {
    if (this.#proposing) {
      this.#again = true; // a change while proposing: looked at once the proposal ends
      return;
    }
    if (this.#leadership.term === undefined) return;
    const observed = this.#registry.current();
    const committed = this.#control.snapshot().members;
    if (sameNodes(observed, committed)) return;
    this.#proposing = true;
    try {
      await this.#node.propose({ type: 'set-members', members: observed });
      this.#logger.info({ members: observed.map((m) => m.id) }, 'worker membership committed');
    } catch (err) {
      this.#logger.warn({ err }, 'could not commit the worker membership; will retry');
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => void this.#reconcile(), 250);
    } finally {
      this.#proposing = false;
      if (this.#again) {
        this.#again = false;
        void this.#reconcile();
      }
    }
  }

  current(): readonly MemberNode[] {
    return this.#control.placeable();
  }

  /** The committed membership changed (a node admitted or retired, an evacuation recorded). */
  onChange(listener: () => void): () => void {
    return this.#control.onChange(() => listener());
  }

  async waitForNodes(signal?: AbortSignal): Promise<readonly MemberNode[]> {
    for (;;) {
      const nodes = this.current();
      if (nodes.length > 0) return nodes;
      if (signal?.aborted) throw signal.reason;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Nodes whose removal from the ring is committed (only then do their tasks move): a draining
   * node keeps its running tasks; one that lapsed, or whose registration is gone, loses all.
   */
  departed(): readonly DepartedNode[] {
    const registered = new Map(this.#registry.departed().map((d) => [d.id, d]));
    // A retired node that heartbeats again (a pause, a Redis failover that outlasted its lease) is
    // live, not gone: it is admitted again at the next reconcile and serves its own queue. Taking
    // it for one whose registration is gone would clear that queue (obliterate) while the leader
    // places new tasks on it, losing them: a job then waits for ever.
    const live = new Set(this.#registry.current().map((n) => n.id));
    return this.#control
      .snapshot()
      .retired.filter((id) => !live.has(id))
      .map((id) => registered.get(id) ?? { id, lapsed: true, heartbeatAt: 0 });
  }

  async forget(id: string): Promise<void> {
    await this.#node.propose({ type: 'evacuated', node: id });
    await this.#registry.forget(id);
  }
}

function sameNodes(a: readonly MemberNode[], b: readonly MemberNode[]): boolean {
  return a.length === b.length && a.every((m, i) => m.id === b[i]?.id && m.weight === b[i]?.weight);
}

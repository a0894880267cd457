// The local autoscaler: starts worker node processes on this host when the backlog wants them, drains idle ones.
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { AutoscaleView, WorkerView } from '../api/cluster-view.js';
import { serializeError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { decide, INITIAL_MEMORY, type PolicyMemory, type PolicyOptions, type ScaledNode } from './policy.js';

/** What the autoscaler reads each round: the workers and the leader's recommendation (`GET /v1/cluster`). */
export interface ScaleView {
  readonly workers: readonly WorkerView[];
  readonly autoscale: AutoscaleView | null;
}

export interface LocalAutoscalerDeps {
  readonly readView: () => Promise<ScaleView>;
  /**
   * Starts worker node process `id` with an IPC channel. `standby`: loaded but parked (no
   * registration, no threads): it sends `ready`, and becomes a node when sent `go`, so that a cold
   * start does not wait for a process to load.
   */
  readonly spawnNode: (id: string, standby: boolean) => ChildProcess;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Told of every start and drain as it is counted (`cluster up`'s supervisor records them in its manifest). */
  readonly onDecision?: (decision: { readonly direction: 'up' | 'down'; readonly reason: string; readonly node: string }) => void;
}

export interface LocalAutoscalerOptions extends PolicyOptions {
  /** How often it decides, ms. @default 200 */
  readonly pollMs?: number;
  /** Ids are `<prefix>-<n>`. @default 'auto' */
  readonly idPrefix?: string;
  /** A drained node that has not exited after this long is killed, ms. @default 60000 */
  readonly drainTimeoutMs?: number;
  /** Parked standby processes kept (fewer when near MAX): memory only, no threads, no CPU. @default 2 */
  readonly spares?: number;
}

/** After a node process exits unasked, the autoscaler starts nothing for this long, ms. */
const CRASH_PAUSE_MS = 1_000;

interface Owned {
  readonly id: string;
  readonly child: ChildProcess;
  draining: boolean;
  exited: boolean;
  /** A standby that has loaded and waits for `go`. */
  ready: boolean;
  /** Called before it was ready: `go` is sent when it is. */
  called: boolean;
  /** When the autoscaler made it a node (a spare: when called), ms: a sample begun before says nothing of it. */
  startedAt: number;
}

/**
 * Runs the policy (policy.ts) every `pollMs` against the cluster view: starts nodes (the parked
 * standby first), drains idle ones with SIGTERM (a worker's drain: it takes no new tasks, finishes
 * its running ones, its waiting ones move; docs/operations.md), logs and counts every decision.
 */
export class LocalAutoscaler {
  readonly #deps: LocalAutoscalerDeps;
  readonly #options: Required<LocalAutoscalerOptions>;
  readonly #nodes = new Map<string, Owned>();
  /** Parked standby processes, oldest (most likely loaded) first. */
  #spares: Owned[] = [];
  #memory: PolicyMemory = INITIAL_MEMORY;
  #next = 1;
  #timer: NodeJS.Timeout | undefined;
  #deciding = false;
  /** When a node process last exited without being drained: no start for a second after (no crash loop). */
  #crashedAt = -Infinity;

  constructor(deps: LocalAutoscalerDeps, options: LocalAutoscalerOptions) {
    this.#deps = deps;
    this.#options = { pollMs: 200, idPrefix: 'auto', drainTimeoutMs: 60_000, spares: 2, ...options };
  }

  /** The worker node processes it runs now (draining ones included). */
  get nodes(): readonly string[] {
    return [...this.#nodes.values()].filter((n) => !n.exited).map((n) => n.id);
  }

  /** Parks standby processes up to `spares`, no more than MAX minus the nodes running. */
  #topUpSpares(): void {
    const running = [...this.#nodes.values()].filter((n) => !n.exited && !n.draining).length;
    while (this.#spares.length < Math.min(this.#options.spares, this.#options.maxNodes - running)) this.#spares.push(this.#spawn(true));
  }

  start(): void {
    this.#topUpSpares();
    this.#timer = setInterval(() => void this.#round(), this.#options.pollMs);
  }

  async #round(): Promise<void> {
    if (this.#deciding) return;
    this.#deciding = true;
    try {
      const view = await this.#deps.readView();
      if (view.autoscale === null) return; // no leader reports a backlog yet
      if (Date.now() - this.#crashedAt < CRASH_PAUSE_MS) return;
      const nodes = this.#scaledNodes(view);
      const { desired, reason, sampledAt } = view.autoscale;
      const { decision, memory } = decide(Date.now(), { desired, reason, sampledAt }, nodes, this.#options, this.#memory);
      this.#memory = memory;
      if (decision.action === 'up') for (let i = 0; i < decision.count; i++) this.#startNode(decision.reason, view.autoscale);
      if (decision.action === 'down') for (const id of decision.nodes) this.#drainNode(id, decision.reason, view.autoscale);
    } catch (err) {
      this.#deps.logger.debug({ err: serializeError(err) }, 'autoscaler could not read the cluster view; trying again');
    } finally {
      this.#deciding = false;
    }
  }

  #scaledNodes(view: ScaleView): ScaledNode[] {
    const byId = new Map(view.workers.map((w) => [w.id, w]));
    return [...this.#nodes.values()]
      .filter((n) => !n.exited)
      .map((n) => {
        const w = byId.get(n.id);
        return { id: n.id, starting: w?.state !== 'alive' && !n.draining, draining: n.draining, busy: w?.busy ?? 0, queued: view.autoscale?.queuedTasks[n.id] ?? 0, startedAt: n.startedAt };
      });
  }

  #startNode(reason: string, signal: AutoscaleView): void {
    // The longest-parked ready spare, else any spare (called once it is ready), else a new process.
    const standby = this.#spares.find((n) => n.ready) ?? this.#spares[0];
    this.#spares = this.#spares.filter((n) => n !== standby);
    const node = standby ?? this.#spawn(false);
    node.startedAt = Date.now();
    if (node === standby) this.#call(node);
    this.#nodes.set(node.id, node);
    this.#deps.logger.info({ node: node.id, reason, desired: signal.desired, current: signal.current, backlogTasks: signal.backlogTasks, fromStandby: node === standby }, 'autoscale: starting a worker node');
    this.#deps.metrics?.autoscaleDecisions.inc({ direction: 'up', reason });
    this.#deps.onDecision?.({ direction: 'up', reason, node: node.id });
    this.#topUpSpares();
  }

  #drainNode(id: string, reason: string, signal: AutoscaleView): void {
    const node = this.#nodes.get(id);
    if (node === undefined || node.draining) return;
    node.draining = true;
    node.child.kill('SIGTERM');
    setTimeout(() => {
      if (!node.exited) node.child.kill('SIGKILL');
    }, this.#options.drainTimeoutMs).unref();
    this.#deps.logger.info({ node: id, reason, desired: signal.desired, current: signal.current }, 'autoscale: draining a worker node');
    this.#deps.metrics?.autoscaleDecisions.inc({ direction: 'down', reason });
    this.#deps.onDecision?.({ direction: 'down', reason, node: id });
    this.#topUpSpares();
  }

  #call(node: Owned): void {
    node.called = true;
    if (node.ready) node.child.send?.('go');
  }

  #spawn(standby: boolean): Owned {
    const id = `${this.#options.idPrefix}-${this.#next++}`;
    const child = this.#deps.spawnNode(id, standby);
    const owned: Owned = { id, child, draining: false, exited: false, ready: false, called: false, startedAt: Date.now() };
    child.on('message', (m) => {
      if (m !== 'ready') return;
      owned.ready = true;
      if (owned.called) child.send?.('go');
    });
    child.once('error', (err) => this.#deps.logger.warn({ node: id, err: serializeError(err) }, 'autoscale: worker node process error'));
    child.once('exit', (code, signal) => {
      owned.exited = true;
      this.#nodes.delete(id);
      this.#spares = this.#spares.filter((n) => n !== owned);
      const expected = owned.draining || this.#timer === undefined;
      if (!expected) this.#crashedAt = Date.now();
      const level = expected ? 'info' : 'warn';
      this.#deps.logger[level]({ node: id, code, signal }, 'autoscale: worker node process exited');
    });
    return owned;
  }

  /** Stops deciding and stops every process it started (SIGTERM: they drain), waiting for them to exit. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const all = [...this.#nodes.values(), ...this.#spares].filter((n) => !n.exited);
    await Promise.all(
      all.map(
        (n) =>
          new Promise<void>((resolve) => {
            if (n.exited) return resolve();
            n.child.once('exit', () => resolve());
            n.child.kill('SIGTERM');
            setTimeout(() => n.child.kill('SIGKILL'), this.#options.drainTimeoutMs).unref();
          }),
      ),
    );
  }
}

// The local autoscaler's decision: from the recommendation and the nodes it runs, start nodes, drain idle ones, or hold.

/** A worker node process the autoscaler runs, as it sees it now. */
export interface ScaledNode {
  readonly id: string;
  /** Started but not registered alive yet: it counts as capacity, but is never drained. */
  readonly starting: boolean;
  /** Asked to drain: no longer counted. */
  readonly draining: boolean;
  /** Threads running a task, and tasks queued on it: a node with either is never drained. */
  readonly busy: number;
  readonly queued: number;
  /** When it became a node (started, or a parked spare called), ms since the epoch: see `sampleSeesNode`. */
  readonly startedAt: number;
}

/** The leader's recommendation the autoscaler reads (`autoscale` of `GET /v1/cluster`). */
export interface ScaleSignal {
  readonly desired: number;
  readonly reason: string;
  /** When the leader began the backlog sample it comes from, ms since the epoch. */
  readonly sampledAt: number;
}

export interface PolicyOptions {
  readonly minNodes: number;
  readonly maxNodes: number;
  /** Surplus must last this long before a node is drained, ms (`--scale-down-idle-ms`). */
  readonly scaleDownIdleMs: number;
  /** After starting nodes, no more are started for this long unless none runs, ms. */
  readonly upCooldownMs: number;
  /** After a scale-up or a drain, no drain for this long, ms. */
  readonly downCooldownMs: number;
}

/** What the policy remembers between decisions. */
export interface PolicyMemory {
  readonly lastUpAt: number | undefined;
  readonly lastDownAt: number | undefined;
  /** Since when the nodes have been more than desired (undefined: they are not). */
  readonly surplusSince: number | undefined;
}

export const INITIAL_MEMORY: PolicyMemory = Object.freeze({ lastUpAt: undefined, lastDownAt: undefined, surplusSince: undefined });

/**
 * Pure: whether a backlog sample begun at `sampledAt` can say a node that became one at `startedAt`
 * is idle. Only if it was begun after: an older sample (the API serves one up to 5 s old) predates
 * the node and the work it was started for, so "nothing queued on it, fewer nodes wanted" is no
 * evidence, and draining on it would undo a scale-up for a burst. Both times are this host's clock
 * (the leader and the local autoscaler run on one host; docs/operations.md "Autoscaling").
 */
export function sampleSeesNode(sampledAt: number, startedAt: number): boolean {
  return sampledAt > startedAt;
}

export type Decision =
  | { readonly action: 'up'; readonly count: number; readonly reason: string }
  | { readonly action: 'down'; readonly nodes: readonly string[]; readonly reason: string }
  | { readonly action: 'hold'; readonly reason: string };

/**
 * Pure: `now`, the recommendation and the nodes in; a decision and the new memory out.
 * Up at once from zero (the cold start), else after the up cool-down; down only after the surplus
 * has lasted `scaleDownIdleMs` and the down cool-down, only idle nodes (no busy thread, nothing
 * queued) that the sample saw (`sampleSeesNode`), never below MIN.
 */
export function decide(now: number, signal: ScaleSignal, nodes: readonly ScaledNode[], options: PolicyOptions, memory: PolicyMemory): { decision: Decision; memory: PolicyMemory } {
  const { desired, reason: signalReason } = signal;
  const counted = nodes.filter((n) => !n.draining);
  const target = Math.min(options.maxNodes, Math.max(options.minNodes, desired));
  if (target > counted.length) {
    const since = (at: number | undefined) => (at === undefined ? Infinity : now - at);
    const cold = counted.length === 0;
    if (!cold && since(memory.lastUpAt) < options.upCooldownMs) return { decision: { action: 'hold', reason: 'up-cooldown' }, memory: { ...memory, surplusSince: undefined } };
    return { decision: { action: 'up', count: target - counted.length, reason: cold ? 'cold-start' : signalReason }, memory: { ...memory, lastUpAt: now, surplusSince: undefined } };
  }
  if (target === counted.length) return { decision: { action: 'hold', reason: 'at-desired' }, memory: { ...memory, surplusSince: undefined } };
  const surplusSince = memory.surplusSince ?? now;
  const next = { ...memory, surplusSince };
  if (now - surplusSince < options.scaleDownIdleMs) return { decision: { action: 'hold', reason: 'surplus-not-idle-long-enough' }, memory: next };
  const lastChange = Math.max(memory.lastUpAt ?? -Infinity, memory.lastDownAt ?? -Infinity);
  if (now - lastChange < options.downCooldownMs) return { decision: { action: 'hold', reason: 'down-cooldown' }, memory: next };
  const idle = counted.filter((n) => !n.starting && n.busy === 0 && n.queued === 0);
  const seen = idle.filter((n) => sampleSeesNode(signal.sampledAt, n.startedAt));
  const drain = seen.slice(0, counted.length - target).map((n) => n.id);
  if (drain.length === 0) return { decision: { action: 'hold', reason: idle.length > 0 ? 'sample-older-than-nodes' : 'surplus-nodes-busy' }, memory: next };
  return { decision: { action: 'down', nodes: drain, reason: 'idle' }, memory: { ...next, lastDownAt: now, surplusSince: undefined } };
}

// One seeded simulation run: chaos (faults, clients, membership, transfers), then heal and check liveness.
import type { NodeId } from '../../src/raft/types.js';
import { InvariantViolation } from './invariants.js';
import { SimCluster, type FaultCounts } from './sim-cluster.js';

export interface SeedRunOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Virtual time with faults injected. @default 20_000 */
  readonly chaosMs?: number;
  /** After healing, a leader must commit a proposal within this virtual time. @default 10_000 */
  readonly livenessBoundMs?: number;
}

export interface SeedRunResult {
  readonly seed: number;
  readonly nodes: number;
  readonly steps: number;
  readonly simulatedMs: number;
  readonly faults: FaultCounts;
  /** Fault actions plus dropped and duplicated messages. */
  readonly faultTotal: number;
  readonly committed: number;
  readonly leadersElected: number;
  readonly snapshotsSent: number;
  /** Time from healing to the liveness proposal committing. */
  readonly recoveryMs: number | undefined;
  readonly violation: string | undefined;
}

export function replayCommand(seed: number, nodes: number): string {
  return `npm run sim -- --seed ${seed} --nodes ${nodes}`;
}

export function totalFaults(f: FaultCounts): number {
  return Object.values(f).reduce((a, b) => a + b, 0);
}

export function runSeed(options: SeedRunOptions): SeedRunResult {
  const chaosMs = options.chaosMs ?? 20_000;
  const livenessBoundMs = options.livenessBoundMs ?? 10_000;
  const sim = new SimCluster({ seed: options.seed, voters: options.nodes });
  const rng = sim.rng.fork();
  let violation: string | undefined;
  let recoveryMs: number | undefined;
  try {
    sim.dropRate = rng.pick([0, 0.01, 0.05, 0.15]);
    sim.duplicateRate = rng.pick([0, 0.02, 0.1]);
    sim.maxDelayMs = rng.pick([5, 20, 60]);
    scheduleChaos(sim, rng, chaosMs);
    sim.runFor(chaosMs);
    recoveryMs = healAndCheckLiveness(sim, livenessBoundMs);
    sim.checker.checkLogsPairwise(sim.liveCores());
  } catch (err) {
    if (err instanceof InvariantViolation) violation = `${err.message} (at ${sim.now} ms, step ${sim.steps})`;
    else violation = `implementation error at ${sim.now} ms, step ${sim.steps}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  }
  return {
    seed: options.seed,
    nodes: options.nodes,
    steps: sim.steps,
    simulatedMs: sim.now,
    faults: { ...sim.faults },
    faultTotal: totalFaults(sim.faults),
    committed: sim.checker.maxCommitted,
    leadersElected: sim.checker.leadersElected,
    snapshotsSent: sim.snapshotsSent,
    recoveryMs,
    violation,
  };
}

type Rng = SimCluster['rng'];

function randomSubset(rng: Rng, ids: readonly NodeId[]): NodeId[] {
  return ids.filter(() => rng.chance(0.5));
}

function scheduleChaos(sim: SimCluster, rng: Rng, chaosMs: number): void {
  const clientLoop = (): void => {
    if (sim.now >= chaosMs) return;
    const leaders = sim.leaders();
    const live = sim.ids.filter((id) => sim.node(id).alive);
    const target = leaders.length > 0 && rng.chance(0.9) ? rng.pick(leaders).id : live.length > 0 ? rng.pick(live) : undefined;
    if (target !== undefined) {
      if (rng.chance(0.15)) sim.readIndex(target);
      else sim.propose(target, sim.nextCommand());
    }
    sim.schedule(20 + rng.nextInt(200), clientLoop);
  };
  const faultLoop = (): void => {
    if (sim.now >= chaosMs) return;
    injectFault(sim, rng);
    sim.schedule(100 + rng.nextInt(900), faultLoop);
  };
  sim.schedule(rng.nextInt(200), clientLoop);
  sim.schedule(500 + rng.nextInt(1000), faultLoop);
}

function injectFault(sim: SimCluster, rng: Rng): void {
  const ids = sim.ids;
  const live = ids.filter((id) => sim.node(id).alive);
  const dead = ids.filter((id) => !sim.node(id).alive);
  const roll = rng.nextInt(100);
  if (roll < 10) {
    sim.partition([randomSubset(rng, ids)]);
    sim.faults.partitions++;
  } else if (roll < 20) {
    const a = rng.pick(ids);
    const b = rng.pick(ids.filter((id) => id !== a));
    sim.cutOneWay(a, b);
    sim.faults.oneWayCuts++;
  } else if (roll < 30) {
    // Isolating the leader is the interesting case: CheckQuorum must depose it.
    const leader = sim.leader();
    sim.isolate(leader !== undefined && rng.chance(0.6) ? leader.id : rng.pick(ids));
    sim.faults.isolations++;
  } else if (roll < 45) {
    sim.heal();
    sim.faults.heals++;
  } else if (roll < 55) {
    if (live.length > 0) sim.crash(rng.pick(live));
  } else if (roll < 70) {
    if (dead.length > 0) sim.restart(rng.pick(dead));
  } else if (roll < 80) {
    const leader = sim.leader();
    if (leader?.core !== undefined) {
      const voters = leader.core.conf.voters.map((v) => v.id);
      const outsiders = ids.filter((id) => !voters.includes(id));
      const remove = voters.length > sim.voterCount || (voters.length === sim.voterCount && rng.chance(0.5)) || outsiders.length === 0;
      let r;
      if (remove && voters.length > 1) r = sim.proposeConfChange(leader.id, { type: 'remove', id: rng.pick(voters) });
      else if (outsiders.length > 0) {
        const id = rng.pick(outsiders);
        r = sim.proposeConfChange(leader.id, { type: 'add', id, address: `sim://${id}` });
      }
      if (r?.ok === true) sim.faults.confChanges++;
    }
  } else if (roll < 88) {
    const leader = sim.leader();
    if (leader?.core !== undefined) {
      const others = leader.core.conf.voters.map((v) => v.id).filter((id) => id !== leader.id);
      if (others.length > 0) {
        if (sim.transferLeadership(leader.id, rng.pick(others))?.ok === true) sim.faults.transfers++;
      }
    }
  } else {
    sim.dropRate = rng.pick([0, 0.01, 0.05, 0.15, 0.3]);
    sim.duplicateRate = rng.pick([0, 0.02, 0.1]);
    sim.maxDelayMs = rng.pick([5, 20, 60, 150]);
    sim.faults.networkChanges++;
  }
}

/** Heal everything, restart every crashed node; a leader must then commit a fresh proposal in bounded time. */
function healAndCheckLiveness(sim: SimCluster, boundMs: number): number {
  sim.heal();
  sim.dropRate = 0;
  sim.duplicateRate = 0;
  sim.maxDelayMs = Math.min(sim.maxDelayMs, 20);
  for (const id of sim.ids) sim.restart(id);
  const healedAt = sim.now;
  let pending: { id: NodeId; index: number; term: number } | undefined;
  const committed = (): boolean => {
    if (pending === undefined) return false;
    const core = sim.node(pending.id).core;
    return core !== undefined && core.commitIndex >= pending.index && core.termAt(pending.index) === pending.term;
  };
  const ok = sim.runUntil(() => {
    if (committed()) return true;
    const leader = sim.leader();
    if (leader?.core !== undefined && (pending === undefined || pending.id !== leader.id || pending.term !== leader.core.term)) {
      const r = sim.propose(leader.id, `live-${sim.now}`);
      if (r?.ok === true) pending = { id: leader.id, index: r.index, term: r.term };
    }
    return committed();
  }, boundMs);
  if (!ok) {
    const roles = sim.ids.map((id) => {
      const c = sim.node(id).core;
      return c === undefined ? `${id}:down` : `${id}:${c.role}@${c.term}(last ${c.lastIndex}, commit ${c.commitIndex}, voters ${c.conf.voters.map((v) => v.id).join('+')})`;
    });
    sim.checker.fail(`Liveness: no proposal committed within ${boundMs} ms after healing; ${roles.join(' ')}`);
  }
  return sim.now - healedAt;
}

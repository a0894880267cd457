// The nemesis's fault schedule: a pure function of the seed, so the same seed injects the same faults in the same order.
import { SeededRandom } from '../../src/raft/random.js';

export const FAULT_KINDS = ['scheduler-leader-kill', 'scheduler-pause', 'worker-kill', 'worker-pause', 'redis-master-kill', 'redis-master-pause', 'worker-partition'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The kinds that make (or may make) the sentinels fail the Redis master over. */
export const REDIS_FAULT_KINDS: readonly FaultKind[] = ['redis-master-kill', 'redis-master-pause'];

/** The kinds cheap enough for the test slice: no Redis failover (that one is the full run's). */
export const CHEAP_FAULT_KINDS: readonly FaultKind[] = ['scheduler-leader-kill', 'scheduler-pause', 'worker-kill', 'worker-pause', 'worker-partition'];

/** How long a fault that has a duration lasts (the figures); kills are instantaneous. */
export const FAULT_DURATION_MS: Readonly<Record<FaultKind, number>> = Object.freeze({
  'scheduler-leader-kill': 0,
  'scheduler-pause': 5_000,
  'worker-kill': 0,
  'worker-pause': 8_000,
  'redis-master-kill': 0,
  // Longer than the sentinels' down-after (1.5 s) and their election: a failover proper.
  'redis-master-pause': 10_000,
  'worker-partition': 8_000,
});

export interface PlannedFault {
  /** 1-based position in the schedule. */
  readonly n: number;
  readonly kind: FaultKind;
  /**
   * In [0, 1): which of the candidates is hit, for kinds whose target is not fixed by the cluster's
   * state (a paused scheduler, a killed worker). The leader and the Redis master are found at the time.
   */
  readonly targetDraw: number;
  readonly durationMs: number;
  /** Quiet time after the fault has healed and the cluster is ready again, before the next one. */
  readonly gapMs: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly kinds: readonly FaultKind[];
  /** How many faults to plan; the run stops taking them when its time is up. */
  readonly count: number;
  /** @default 3000 */
  readonly minGapMs?: number;
  /** @default 7000 */
  readonly maxGapMs?: number;
}

/**
 * Rounds of a seeded permutation of the kinds: every kind comes once per round, so a short run
 * still meets each of them.
 */
export function planFaults(options: ScheduleOptions): PlannedFault[] {
  if (options.kinds.length === 0) throw new RangeError('kinds must name at least one fault kind');
  for (const k of options.kinds) if (!FAULT_KINDS.includes(k)) throw new RangeError(`unknown fault kind ${JSON.stringify(k)}; known: ${FAULT_KINDS.join(', ')}`);
  const minGap = options.minGapMs ?? 3_000;
  const maxGap = options.maxGapMs ?? 7_000;
  if (!(minGap >= 0 && maxGap >= minGap)) throw new RangeError(`gaps must satisfy 0 ≤ min ≤ max, got ${minGap} and ${maxGap}`);
  const random = new SeededRandom(options.seed);
  const order = random.fork();
  const draws = random.fork();
  const plan: PlannedFault[] = [];
  while (plan.length < options.count) {
    const round = [...options.kinds];
    for (let i = round.length - 1; i > 0; i--) {
      const j = order.nextInt(i + 1);
      [round[i], round[j]] = [round[j] as FaultKind, round[i] as FaultKind];
    }
    for (const kind of round) {
      if (plan.length >= options.count) break;
      plan.push({ n: plan.length + 1, kind, targetDraw: draws.next(), durationMs: FAULT_DURATION_MS[kind], gapMs: minGap + draws.nextInt(maxGap - minGap + 1) });
    }
  }
  return plan;
}

/** Parses `--faults a,b`: the kinds named, each known. */
export function parseFaultKinds(text: string): FaultKind[] {
  const kinds = text.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new RangeError(`--faults: unknown kind ${JSON.stringify(k)}; known: ${FAULT_KINDS.join(', ')}`);
  if (kinds.length === 0) throw new RangeError('--faults must name at least one kind');
  return kinds as FaultKind[];
}

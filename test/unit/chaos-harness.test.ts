// The chaos harness's pure parts: its fault schedule replays from the seed, its reference counts primes right, its outages add up.
import { describe, expect, it } from 'vitest';
import { outagesOf, overlapMs, type RequestRecord } from '../../bench/chaos/availability.js';
import { drawJob } from '../../bench/chaos/load-client.js';
import { countPrimesSerially } from '../../bench/chaos/primes-reference.js';
import { FAULT_KINDS, parseFaultKinds, planFaults } from '../../bench/chaos/schedule.js';
import { SeededRandom } from '../../src/raft/random.js';
import primes from '../../jobs/primes.js';
import { runJobInline } from '../helpers/run-job-inline.js';

describe('chaos fault schedule', () => {
  it('the same seed gives the same faults in the same order; another seed another order', () => {
    const plan = (seed: number) => planFaults({ seed, kinds: FAULT_KINDS, count: 30 });
    expect(plan(28)).toEqual(plan(28));
    expect(plan(28).map((f) => f.kind)).not.toEqual(plan(29).map((f) => f.kind));
  });

  it('every kind comes once per round, with gaps and target draws in range', () => {
    const plan = planFaults({ seed: 7, kinds: FAULT_KINDS, count: FAULT_KINDS.length * 3, minGapMs: 1_000, maxGapMs: 2_000 });
    for (let round = 0; round < 3; round++) {
      expect(new Set(plan.slice(round * FAULT_KINDS.length, (round + 1) * FAULT_KINDS.length).map((f) => f.kind)).size).toBe(FAULT_KINDS.length);
    }
    for (const f of plan) {
      expect(f.gapMs).toBeGreaterThanOrEqual(1_000);
      expect(f.gapMs).toBeLessThanOrEqual(2_000);
      expect(f.targetDraw).toBeGreaterThanOrEqual(0);
      expect(f.targetDraw).toBeLessThan(1);
    }
    expect(plan.find((f) => f.kind === 'worker-pause')?.durationMs).toBe(8_000);
    expect(plan.find((f) => f.kind === 'scheduler-pause')?.durationMs).toBe(5_000);
  });

  it('--faults names only known kinds', () => {
    expect(parseFaultKinds('worker-kill, redis-master-kill')).toEqual(['worker-kill', 'redis-master-kill']);
    expect(() => parseFaultKinds('worker-kill,disk-full')).toThrow(/unknown kind "disk-full"; known: scheduler-leader-kill/);
  });
});

describe('chaos serial reference', () => {
  it('counts what the primes job counts, for the ranges the client draws', async () => {
    expect(countPrimesSerially(0, 2_000_000)).toBe(148_933);
    expect(countPrimesSerially(0, 3)).toBe(1);
    expect(countPrimesSerially(2, 3)).toBe(1);
    expect(countPrimesSerially(4, 5)).toBe(0);
    const random = new SeededRandom(1);
    for (let i = 0; i < 4; i++) {
      const input = drawJob(random, i === 3);
      expect(countPrimesSerially(input.from, input.to), JSON.stringify(input)).toBe(await runJobInline(primes, input));
    }
  });
});

describe('chaos availability accounting', () => {
  const r = (at: number, outcome: RequestRecord['outcome']): RequestRecord => ({ at, ms: 5, op: 'submit', outcome });

  it('an outage runs from the first unanswered request to the next answered one, and is charged by overlap', () => {
    const outages = outagesOf([r(0, 'ok'), r(100, 'refused'), r(200, 'unavailable'), r(300, 'ok'), r(400, 'error'), r(500, 'ok'), r(600, 'refused')], 700);
    expect(outages).toEqual([
      { from: 100, to: 300 },
      { from: 400, to: 500 },
      { from: 600, to: 700 },
    ]);
    expect(overlapMs(outages, { from: 250, to: 450 })).toBe(100);
    expect(overlapMs(outages, { from: 0, to: 50 })).toBe(0);
  });
});

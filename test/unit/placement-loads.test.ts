// Bounded placement under skewed keys: the leader's in-flight counts (NodeLoads) cap the hottest node.
import { describe, expect, it } from 'vitest';
import { HashRing } from '../../src/ring/index.js';
import { NodeLoads } from '../../src/scheduler/node-loads.js';
import { Placement } from '../../src/scheduler/placement.js';
import { MAX_SLOWNESS, slownessOf } from '../../src/scheduler/node-speeds.js';

const NODES = [
  { id: 'w1', weight: 2 },
  { id: 'w2', weight: 2 },
  { id: 'w3', weight: 2 },
];

/** Task keys whose ranks follow Zipf(s) over `keys` keys, from a seeded generator (same keys every run). */
function zipfKeys(count: number, keys: number, s: number): string[] {
  const weights = Array.from({ length: keys }, (_, k) => 1 / (k + 1) ** s);
  const sum = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) cumulative.push((acc += w / sum));
  let seed = 42;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: count }, () => {
    const r = random();
    const rank = cumulative.findIndex((c) => c >= r);
    return `key-${rank < 0 ? keys - 1 : rank}`;
  });
}

function maxOverMean(counts: Map<string, number>, nodes: number): number {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return Math.max(...counts.values()) / (total / nodes);
}

function placeAll(placement: Placement, keys: readonly string[]): Map<string, number> {
  const loads = new NodeLoads();
  const ring = placement.ringFor(NODES);
  const counts = new Map<string, number>();
  for (const key of keys) {
    const node = placement.place(ring, key, loads.loads) as string;
    loads.placed('job', node);
    counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  return counts;
}

describe('bounded placement', () => {
  const keys = zipfKeys(20_000, 1_000, 1.1);

  it('keeps the busiest node within the load bound of the mean under Zipf keys, where the ring alone does not', () => {
    const bounded = maxOverMean(placeAll(new Placement(1.25), keys), NODES.length);
    const unbounded = maxOverMean(placeAll(new Placement(0), keys), NODES.length);
    expect(bounded).toBeLessThanOrEqual(1.25 + 0.01);
    expect(unbounded).toBeGreaterThan(1.3); // the skew is real: without the bound one node takes far more
  });

  it('keeps a key on its owner while the loads are balanced (locality is kept when there is room)', () => {
    const placement = new Placement(1.25);
    const ring = placement.ringFor(NODES);
    const loads = new NodeLoads();
    for (const key of ['a', 'b', 'c', 'd']) expect(placement.place(ring, key, loads.loads)).toBe(ring.ownerOf(key));
  });

  it('counts placed minus stored per node; an ended job stops counting', () => {
    const loads = new NodeLoads();
    for (let i = 0; i < 5; i++) loads.placed('j1', 'w1');
    loads.placed('j1', 'w2');
    loads.placed('j2', 'w1');
    expect(Object.fromEntries(loads.loads)).toEqual({ w1: 6, w2: 1 });
    loads.acknowledge('j1', { w1: 3, w3: 4 }); // w3 stored tasks placed elsewhere (moved): never below zero
    expect(Object.fromEntries(loads.loads)).toEqual({ w1: 3, w2: 1 });
    loads.acknowledge('j1', { w1: 5, w2: 1 });
    expect(Object.fromEntries(loads.loads)).toEqual({ w1: 1 });
    loads.forget('j2');
    expect(Object.fromEntries(loads.loads)).toEqual({});
    expect(loads.jobs()).toEqual(['j1']);
  });

  it('counts tasks placed together (a tally) exactly as one by one, stored results included', () => {
    const one = new NodeLoads();
    const together = new NodeLoads();
    one.acknowledge('j1', {}); // nothing placed yet: ignored by both
    for (const loads of [one, together]) loads.placed('j1', 'w1');
    for (const loads of [one, together]) loads.acknowledge('j1', { w1: 4 }); // stored ahead of what was placed here (a move)
    for (let i = 0; i < 6; i++) one.placed('j1', 'w1');
    for (let i = 0; i < 3; i++) one.placed('j1', 'w2');
    const tally = together.tally('j1');
    for (let i = 0; i < 6; i++) tally.add('w1');
    expect(Object.fromEntries(together.loads)).toEqual({}); // counted only once flushed
    for (let i = 0; i < 3; i++) tally.add('w2'); // another node: w1's run is counted
    expect(Object.fromEntries(together.loads)).toEqual({ w1: 3 });
    tally.flush();
    tally.flush(); // nothing more to count
    expect(Object.fromEntries(together.loads)).toEqual(Object.fromEntries(one.loads));
    expect(Object.fromEntries(together.loads)).toEqual({ w1: 3, w2: 3 });
  });

  it('measures each node\'s slowness against the fastest from its run time per task; too few results do not count', () => {
    const slowness = slownessOf({ w1: 10, w2: 10, w3: 5, w4: 1, w5: 10 }, { w1: 400_000, w2: 560_000, w3: 800_000, w4: 9_000_000, w5: 640_000 });
    expect(Object.fromEntries(slowness)).toEqual({ w1: 1, w2: 1, w3: 4, w5: 1.6 }); // w2: within the noise; w4: too few results
    // Tasks of microseconds: 3× slower per task, but by less than a millisecond: not counted.
    expect(slownessOf({ w1: 100, w2: 100 }, { w1: 5_000, w2: 15_000 }).get('w2')).toBe(1);
    expect(slownessOf({ w1: 10, w2: 10 }, { w1: 10, w2: 1_000_000 }).get('w2')).toBe(MAX_SLOWNESS);
    expect(slownessOf({}, {}).size).toBe(0);
  });

  it('weighs a slow node\'s in-flight tasks by its slowness, so bounded placement gives it fewer (stragglers)', () => {
    const placement = new Placement();
    const ring = placement.ringFor(NODES);
    const loads = new NodeLoads();
    loads.placed('j0', 'w1'); // the job that measured them
    loads.acknowledge('j0', { w1: 20, w2: 20, w3: 20 }, { w1: 800_000, w2: 800_000, w3: 3_200_000 });
    expect(Object.fromEntries(loads.slowness)).toEqual({ w3: 4 });
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const node = placement.place(ring, `j1:${i}`, loads.weightedLoads) as string;
      loads.placed('j1', node);
      counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    // Nothing drains here: w3 stops at the cap of 1.25 × the mean weighted load, a third of the
    // others' count or less, where its ring share alone would be a third of all (as in the test above).
    const w3 = counts.get('w3') ?? 0;
    expect(w3).toBeGreaterThan(0);
    expect(w3 * 2.5).toBeLessThan(counts.get('w1') ?? 0);
    expect(w3 * 2.5).toBeLessThan(counts.get('w2') ?? 0);
    expect(loads.weightedLoads.get('w3')).toBe(4 * (loads.loads.get('w3') ?? 0));
    // Measured as fast again (a later job): weighed as any other.
    loads.acknowledge('j1', { w1: 5, w2: 5, w3: 5 }, { w1: 200_000, w2: 200_000, w3: 200_000 });
    expect(loads.slowness.size).toBe(0);
    expect(Object.fromEntries(loads.weightedLoads)).toEqual(Object.fromEntries(loads.loads));
  });

  it('refuses a load bound that is neither 0 nor a factor >= 1, saying what to give', () => {
    expect(() => new Placement(0.5)).toThrow(/loadBound must be 0 .* or a number >= 1/);
  });
});

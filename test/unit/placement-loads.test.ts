// Bounded placement under skewed keys: the leader's in-flight counts (NodeLoads) cap the hottest node.
import { describe, expect, it } from 'vitest';
import { HashRing } from '../../src/ring/index.js';
import { NodeLoads } from '../../src/scheduler/node-loads.js';
import { Placement } from '../../src/scheduler/placement.js';

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

  it('refuses a load bound that is neither 0 nor a factor >= 1, saying what to give', () => {
    expect(() => new Placement(0.5)).toThrow(/loadBound must be 0 .* or a number >= 1/);
  });
});

// Deterministic simulation of a 3-node Raft cluster: every safety invariant after every step, liveness after healing.
import { describe, expect, it } from 'vitest';
import { failingSeeds, seedRange, SUITE_SEEDS } from './seeds.js';

describe('Raft simulation, 3 nodes', () => {
  it(`keeps every safety invariant and recovers after healing, over ${SUITE_SEEDS} seeds`, () => {
    expect(failingSeeds(seedRange(SUITE_SEEDS), 3)).toEqual([]);
  });
});

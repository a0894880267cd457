// Every seed that ever broke the simulation is replayed on each run (test/sim/regression-seeds.json).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { failingSeeds } from './seeds.js';

interface RegressionSeed {
  readonly seed: number;
  readonly nodes: number;
  readonly note?: string;
}

const seeds = JSON.parse(readFileSync(new URL('./regression-seeds.json', import.meta.url), 'utf8')) as RegressionSeed[];

describe('Raft simulation regression seeds', () => {
  it('the file lists seeds with a cluster size', () => {
    for (const s of seeds) expect(Number.isInteger(s.seed) && (s.nodes === 3 || s.nodes === 5)).toBe(true);
  });
  for (const s of seeds) {
    it(`seed ${s.seed} with ${s.nodes} nodes${s.note === undefined ? '' : ` (once: ${s.note.slice(0, 60)})`}`, () => {
      expect(failingSeeds([s.seed], s.nodes, 20_000)).toEqual([]);
    });
  }
});

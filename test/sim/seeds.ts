// Runs many seeds for the vitest suite and collects failures with their replay commands.
import { replayCommand, runSeed } from './run-seed.js';

/** Seeds per cluster size in the vitest suite (the CLI runs as many as asked). */
export const SUITE_SEEDS = 300;
/** The same chaos length and fault mix as the CLI. */
export const SUITE_CHAOS_MS = 20_000;

export function failingSeeds(seeds: readonly number[], nodes: number, chaosMs = SUITE_CHAOS_MS): string[] {
  const failures: string[] = [];
  for (const seed of seeds) {
    const r = runSeed({ seed, nodes, chaosMs });
    if (r.violation !== undefined) failures.push(`seed ${seed}: ${r.violation}\n  replay: ${replayCommand(seed, nodes)}`);
  }
  return failures;
}

export function seedRange(count: number, from = 1): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

// Benchmark job: trivial tasks whose placement keys follow Zipf(s), to measure how evenly skewed keys are spread.
import { z } from 'zod';
import { defineJob } from '../../src/sdk/index.js';

export default defineJob({
  name: 'zipf-keys',
  input: z.object({
    tasks: z.number().int().min(1).max(1_000_000),
    keys: z.number().int().min(1).max(100_000).default(1_000),
    s: z.number().min(0).max(10).default(1.1),
    seed: z.number().int().min(1).default(42),
  }),
  *split({ tasks, keys, s, seed }) {
    // Ranks drawn by inverting the cumulative Zipf weights with a seeded generator: the same keys on every split.
    const cumulative: number[] = [];
    let sum = 0;
    for (let k = 1; k <= keys; k++) cumulative.push((sum += 1 / k ** s));
    let state = seed >>> 0 || 1;
    for (let i = 0; i < tasks; i++) {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      const r = (state / 2 ** 32) * sum;
      let lo = 0;
      let hi = keys - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((cumulative[mid] as number) < r) lo = mid + 1;
        else hi = mid;
      }
      yield lo;
    }
  },
  keyOf: (rank: number) => `zipf:${rank}`,
  run: (rank: number) => rank,
  reduce: (results: number[]) => results.length,
});

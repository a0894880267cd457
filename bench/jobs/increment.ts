// Benchmark job: trivial tasks (x → x + 1) summed by reduce, to measure per-task overhead end to end.
import { z } from 'zod';
import { defineJob } from '../../src/sdk/index.js';

export default defineJob({
  name: 'increment',
  input: z.object({ tasks: z.number().int().min(1).max(10_000_000) }),
  *split({ tasks }) {
    for (let i = 0; i < tasks; i++) yield i;
  },
  run: (x: number) => x + 1,
  reduce: (results: number[]) => results.reduce((a, b) => a + b, 0),
});

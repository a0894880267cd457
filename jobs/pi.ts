// Example job: a reproducible Monte Carlo estimate of π, each task drawing points from its own seeded stream.
import { z } from 'zod';
import { defineJob } from 'ringpool/sdk';

const MAX_SAMPLES = 1e11;
const MAX_TASKS = 10_000;
/** Samples between two checks of the signal (and progress reports). */
const BLOCK = 1 << 20;
/** Coordinates are 26-bit integers, so x² + y² < 2^53 is exact in a double. */
const COORD_SHIFT = 32 - 26;
const RADIUS_SQUARED = 2 ** 52;

export const piInput = z
  .strictObject({
    samples: z
      .number()
      .int()
      .min(1)
      .max(MAX_SAMPLES)
      .default(100_000_000)
      .describe('points to draw in the unit square, in total'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(1)
      .describe('seed of the whole run (an unsigned 32-bit integer): same seed, same estimate'),
    samplesPerTask: z
      .number()
      .int()
      .min(1_000)
      .max(1_000_000_000)
      .default(5_000_000)
      .describe('points per task (the last task takes the remainder); 5 million take about 30 ms'),
  })
  .check((ctx) => {
    const { samples, samplesPerTask } = ctx.value;
    const tasks = Math.ceil(samples / samplesPerTask);
    if (tasks > MAX_TASKS) {
      ctx.issues.push({
        code: 'custom',
        path: ['samplesPerTask'],
        input: samplesPerTask,
        message: `samplesPerTask ${samplesPerTask} would make ${tasks} tasks; at most ${MAX_TASKS}: use at least ${Math.ceil(samples / MAX_TASKS)}`,
      });
    }
  });

export type PiInput = z.output<typeof piInput>;

export interface PiTask {
  /** Seed of this task's stream, derived from the job's seed and the task's index. */
  readonly seed: number;
  readonly samples: number;
}

export interface PiResult {
  /** 4 · hits / samples. */
  readonly estimate: number;
  /** |estimate − π|. */
  readonly error: number;
  /** Points that fell inside the quarter circle. */
  readonly hits: number;
  readonly samples: number;
}

/** The seed of task `index`: the job's seed and the index mixed by murmur3's 32-bit finaliser. */
export function taskSeedOf(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new Error('task aborted');
}

export default defineJob({
  name: 'pi',
  description: 'Estimates π by drawing seeded random points in the unit square (Monte Carlo).',
  input: piInput,

  *split(input): Generator<PiTask> {
    const tasks = Math.ceil(input.samples / input.samplesPerTask);
    for (let index = 0; index < tasks; index++) {
      const samples = Math.min(input.samplesPerTask, input.samples - index * input.samplesPerTask);
      yield { seed: taskSeedOf(input.seed, index), samples };
    }
  },

  run(task: PiTask, ctx): number {
    // xoshiro128** (Blackman & Vigna), its 128-bit state filled by splitmix32 from the task's seed.
    // The state lives in locals: this loop is the whole cost of the job.
    let z = task.seed >>> 0;
    const splitmix32 = (): number => {
      z = (z + 0x9e3779b9) | 0;
      let t = z ^ (z >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    let s0 = splitmix32();
    let s1 = splitmix32();
    let s2 = splitmix32();
    let s3 = splitmix32();
    let hits = 0;
    for (let done = 0; done < task.samples; ) {
      throwIfAborted(ctx.signal);
      const end = Math.min(task.samples, done + BLOCK);
      for (; done < end; done++) {
        // First draw: x.
        let r = Math.imul(s1, 5);
        r = Math.imul((r << 7) | (r >>> 25), 9);
        let t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        const x = r >>> COORD_SHIFT;
        // Second draw: y.
        r = Math.imul(s1, 5);
        r = Math.imul((r << 7) | (r >>> 25), 9);
        t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        const y = r >>> COORD_SHIFT;
        if (x * x + y * y < RADIUS_SQUARED) hits++;
      }
      ctx.progress(done / task.samples);
    }
    return hits;
  },

  reduce(hitsPerTask: number[], input): PiResult {
    let hits = 0;
    for (const h of hitsPerTask) hits += h;
    const estimate = (4 * hits) / input.samples;
    return { estimate, error: Math.abs(estimate - Math.PI), hits, samples: input.samples };
  },
});

// The pi job against the same random stream drawn serially: reproducible whatever the task order.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import pi from '../../jobs/pi.js';
import { runJobInline, runTaskInline, splitInline } from '../helpers/run-job-inline.js';

/** xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c), written plainly. */
class Xoshiro128StarStar {
  readonly #s: Uint32Array;
  constructor(state: [number, number, number, number]) {
    this.#s = Uint32Array.from(state);
  }
  next(): number {
    const s = this.#s;
    const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }
}

/** splitmix32 (the 32-bit finaliser pair 0x21f0aaad, 0x735a2d97), as the job seeds its state. */
function splitmix32(seed: number): () => number {
  let z = seed >>> 0;
  return () => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = (z ^ (z >>> 16)) >>> 0;
    t = Math.imul(t, 0x21f0aaad) >>> 0;
    t = (t ^ (t >>> 15)) >>> 0;
    t = Math.imul(t, 0x735a2d97) >>> 0;
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** The job's documented seed of task i: murmur3's fmix32 of seed ^ (i + 1)·0x9e3779b9. */
function taskSeed(seed: number, index: number): number {
  let h = (seed ^ Number((BigInt(index + 1) * 0x9e3779b9n) & 0xffffffffn)) >>> 0;
  h ^= h >>> 16;
  h = Number((BigInt(h) * 0x85ebca6bn) & 0xffffffffn);
  h ^= h >>> 13;
  h = Number((BigInt(h) * 0xc2b2ae35n) & 0xffffffffn);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Draws every point of every task one after another and counts those in the quarter disc. */
function referenceHits(samples: number, seed: number, samplesPerTask: number): number {
  let hits = 0;
  for (let index = 0; index * samplesPerTask < samples; index++) {
    const next = splitmix32(taskSeed(seed, index));
    const rng = new Xoshiro128StarStar([next(), next(), next(), next()]);
    const n = Math.min(samplesPerTask, samples - index * samplesPerTask);
    for (let i = 0; i < n; i++) {
      // 26-bit coordinates: the top bits of each draw; inside when x² + y² < (2^26)².
      const x = BigInt(rng.next() >>> 6);
      const y = BigInt(rng.next() >>> 6);
      if (x * x + y * y < 1n << 52n) hits++;
    }
  }
  return hits;
}

describe('pi job', () => {
  it('uses a reference xoshiro128** that matches the published generator', () => {
    // From the C reference seeded with {1, 2, 3, 4}.
    const rng = new Xoshiro128StarStar([1, 2, 3, 4]);
    expect([rng.next(), rng.next(), rng.next(), rng.next()]).toEqual([11520, 0, 5927040, 70819200]);
  });

  it('counts the same hits as the serial stream, with a remainder task', async () => {
    const input = { samples: 123_457, seed: 42, samplesPerTask: 10_000 };
    const result = await runJobInline(pi, input);
    const hits = referenceHits(input.samples, input.seed, input.samplesPerTask);
    expect(result).toEqual({
      estimate: (4 * hits) / input.samples,
      error: Math.abs((4 * hits) / input.samples - Math.PI),
      hits,
      samples: input.samples,
    });
    const tasks = await splitInline(pi, input);
    expect(tasks).toHaveLength(13);
    expect(tasks.at(-1)!.samples).toBe(3_457);
  });

  it('gives the same answer whatever order the tasks run in', async () => {
    const input = pi.input.parse({ samples: 2_000_000, seed: 7, samplesPerTask: 250_000 });
    const tasks = await splitInline(pi, input);
    const forwards: number[] = [];
    for (const [i, task] of tasks.entries()) forwards.push(await runTaskInline(pi, task, i));
    const backwards: number[] = new Array<number>(tasks.length);
    for (let i = tasks.length - 1; i >= 0; i--) backwards[i] = await runTaskInline(pi, tasks[i]!, i, { attempt: 1 });
    expect(backwards).toEqual(forwards);
    expect(await pi.reduce(backwards, input)).toEqual(await runJobInline(pi, input));
  });

  it('gives different tasks different streams and different seeds different answers', async () => {
    const tasks = await splitInline(pi, { samples: 100_000, seed: 1, samplesPerTask: 1_000 });
    expect(new Set(tasks.map((t) => t.seed)).size).toBe(100);
    const a = await runJobInline(pi, { samples: 100_000, seed: 1 });
    const b = await runJobInline(pi, { samples: 100_000, seed: 2 });
    expect(a.hits).not.toBe(b.hits);
  });

  it('estimates π to within 0.005 from four million points', async () => {
    const result = await runJobInline(pi, { samples: 4_000_000, seed: 3, samplesPerTask: 1_000_000 });
    expect(Math.abs(result.estimate - Math.PI)).toBeLessThan(0.005);
    expect(result.error).toBeCloseTo(Math.abs(result.estimate - Math.PI), 15);
  });

  it('fills in defaults: 10⁸ samples, seed 1, 20 tasks', async () => {
    expect(pi.input.parse({})).toEqual({ samples: 100_000_000, seed: 1, samplesPerTask: 5_000_000 });
    expect(await splitInline(pi, {})).toHaveLength(20);
  });

  it('stops with the abort reason when its signal is aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by test');
    controller.abort(reason);
    await expect(runTaskInline(pi, { seed: 1, samples: 10_000_000 }, 0, { signal: controller.signal })).rejects.toBe(
      reason,
    );
  });

  describe('rejects bad input, naming the field', () => {
    const cases: [string, unknown, string][] = [
      ['zero samples', { samples: 0 }, 'samples'],
      ['fractional samples', { samples: 10.5 }, 'samples'],
      ['a negative seed', { seed: -1 }, 'seed'],
      ['a seed past 32 bits', { seed: 2 ** 32 }, 'seed'],
      ['too few samples per task', { samplesPerTask: 10 }, 'samplesPerTask'],
      ['too many tasks', { samples: 1e11, samplesPerTask: 1_000_000 }, 'samplesPerTask'],
      ['an unknown field', { tasks: 4 }, ''],
    ];
    for (const [what, input, field] of cases) {
      it(what, () => {
        const result = pi.input.safeParse(input);
        expect(result.success).toBe(false);
        expect((result.error as z.ZodError).issues.map((issue) => issue.path.join('.'))).toContain(field);
      });
    }
  });
});

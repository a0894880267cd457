// The primes job against a plain sieve and trial division: edges, chunk boundaries, big numbers, bad input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import primes from '../../jobs/primes.js';
import { runJobInline, runTaskInline, splitInline } from '../helpers/run-job-inline.js';

/** isComposite[n] for n < limit, by the textbook sieve: the reference for small ranges. */
function textbookSieve(limit: number): Uint8Array {
  const composite = new Uint8Array(limit);
  composite[0] = 1;
  if (limit > 1) composite[1] = 1;
  for (let p = 2; p * p < limit; p++) {
    if (composite[p]) continue;
    for (let m = p * p; m < limit; m += p) composite[m] = 1;
  }
  return composite;
}

const SMALL_LIMIT = 1_100_000;
const composite = textbookSieve(SMALL_LIMIT);
/** primesBelow[n] = how many primes are < n. */
const primesBelow = new Uint32Array(SMALL_LIMIT + 1);
for (let n = 0; n < SMALL_LIMIT; n++) primesBelow[n + 1] = primesBelow[n]! + (composite[n] ? 0 : 1);

function referenceCount(from: number, to: number): number {
  if (to <= SMALL_LIMIT) return primesBelow[to]! - primesBelow[from]!;
  let count = 0;
  for (let n = from; n < to; n++) if (isPrimeByTrialDivision(n)) count++;
  return count;
}

function isPrimeByTrialDivision(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

async function count(from: number, to: number, chunk?: number): Promise<number> {
  return runJobInline(primes, chunk === undefined ? { from, to } : { from, to, chunk });
}

describe('primes job', () => {
  it('counts the primes below two million and ten million (π(2·10⁶) = 148933, π(10⁷) = 664579)', async () => {
    expect(await count(0, 2_000_000)).toBe(148_933);
    expect(await count(0, 10_000_000)).toBe(664_579);
  });

  it('splits the issue examples into tens of tasks that tile the range', async () => {
    const small = await splitInline(primes, { from: 0, to: 2_000_000 });
    const large = await splitInline(primes, { from: 0, to: 10_000_000 });
    expect(small).toHaveLength(20);
    expect(large).toHaveLength(32);
    for (const tasks of [small, large]) {
      for (let i = 1; i < tasks.length; i++) expect(tasks[i]!.from).toBe(tasks[i - 1]!.to);
    }
    expect(large.at(-1)!.to).toBe(10_000_000);
  });

  it('gets the edges right: 0, 1, 2, 3 and empty ranges', async () => {
    for (const [from, to, expected] of [
      [0, 0, 0],
      [0, 1, 0],
      [0, 2, 0],
      [0, 3, 1],
      [2, 3, 1],
      [3, 3, 0],
      [1, 4, 2],
      [4, 5, 0],
      [0, 100, 25],
      [97, 98, 1],
      [98, 101, 0],
      [1_000_000, 1_000_000, 0],
    ] as const) {
      expect(await count(from, to), `[${from}, ${to})`).toBe(expected);
    }
  });

  it('counts the same whichever chunk size cuts the range, including cuts at primes', async () => {
    const expected = referenceCount(997, 1_000_003);
    for (const chunk of [1_000, 1_009, 4_096, 999_983, 2_000_000]) {
      expect(await count(997, 1_000_003, chunk), `chunk ${chunk}`).toBe(expected);
    }
  });

  it('agrees with a plain sieve on random ranges and chunks (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.integer({ min: 1_000, max: 20_000 }),
        async (from, length, chunk) => {
          expect(await count(from, from + length, chunk)).toBe(referenceCount(from, from + length));
        },
      ),
      { numRuns: 150, seed: 20240611 },
    );
  });

  it('agrees with trial division near 10¹² and at the top of the allowed range, 2⁴⁰', async () => {
    const top = 2 ** 40;
    for (const [from, to] of [
      [1e12 - 3_000, 1e12 + 1_000],
      [top - 2_000, top],
    ] as const) {
      expect(await count(from, to, 1_000), `[${from}, ${to})`).toBe(referenceCount(from, to));
    }
  });

  it('stops with the abort reason when its signal is aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by test');
    controller.abort(reason);
    await expect(runTaskInline(primes, { from: 0, to: 5_000_000 }, 0, { signal: controller.signal })).rejects.toBe(
      reason,
    );
  });

  it('reports progress up to 1 on a long task', async () => {
    const fractions: number[] = [];
    await runTaskInline(primes, { from: 0, to: 10_000_000 }, 0, { progress: (f) => fractions.push(f) });
    expect(fractions.length).toBeGreaterThan(1);
    expect(fractions.at(-1)).toBe(1);
    expect(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f > fractions[i - 1]!))).toBe(true);
  });

  describe('rejects bad input, naming the field', () => {
    const cases: [string, unknown, string][] = [
      ['from > to', { from: 10, to: 5 }, 'to'],
      ['negative from', { from: -1, to: 5 }, 'from'],
      ['non-integer to', { from: 0, to: 10.5 }, 'to'],
      ['to past 2^40', { from: 0, to: 2 ** 40 + 1 }, 'to'],
      ['a string', { from: '0', to: 10 }, 'from'],
      ['missing to', { from: 0 }, 'to'],
      ['a span over 10^10', { from: 0, to: 2e10 }, 'to'],
      ['a chunk making too many tasks', { from: 0, to: 1e9, chunk: 1_000 }, 'chunk'],
      ['a tiny chunk', { from: 0, to: 10, chunk: 1 }, 'chunk'],
    ];
    for (const [what, input, field] of cases) {
      it(what, () => {
        const result = primes.input.safeParse(input);
        expect(result.success).toBe(false);
        const issues = (result.error as z.ZodError).issues;
        expect(issues.map((issue) => issue.path.join('.'))).toContain(field);
      });
    }

    it('an unknown field', () => {
      expect(primes.input.safeParse({ from: 0, to: 10, chunks: 5000 }).success).toBe(false);
    });
  });
});

// Example job: counts the primes in [from, to) with a segmented sieve, one chunk of the range per task.
import { z } from 'zod';
import { defineJob } from 'ringpool/sdk';

/** Largest `to`: 2^40, so every square root fits the base sieve of a task (≤ 2^20). */
const MAX_TO = 2 ** 40;
/** Largest `to - from`: 25 s (near 0) to 60 s (near 10^12) of one core in total. */
const MAX_SPAN = 10_000_000_000;
/** Most tasks one job may produce, whatever `chunk` says. */
const MAX_TASKS = 10_000;
/** Without `chunk`, the range is cut into about this many tasks... */
const AUTO_TASKS = 32;
/** ...of at least this many numbers, so small ranges do not drown in per-task overhead. */
const AUTO_MIN_CHUNK = 100_000;
/** Odd numbers per sieve segment: 256 KiB of flags, which stays in L2 cache. */
const SEGMENT_ODDS = 1 << 18;

const bound = (name: string) =>
  z
    .number()
    .int()
    .min(0)
    .max(MAX_TO)
    .describe(`${name}: an integer in [0, 2^40]`);

export const primesInput = z
  .strictObject({
    from: bound('first number of the range (inclusive)'),
    to: bound('end of the range (exclusive)'),
    chunk: z
      .number()
      .int()
      .min(1_000)
      .max(MAX_SPAN)
      .optional()
      .describe(
        `numbers per task; default: (to - from) / ${AUTO_TASKS} rounded up, at least ${AUTO_MIN_CHUNK}`,
      ),
  })
  .check((ctx) => {
    const { from, to, chunk } = ctx.value;
    if (to < from) {
      ctx.issues.push({ code: 'custom', path: ['to'], input: to, message: `to must be ≥ from (${from}), got ${to}` });
      return;
    }
    if (to - from > MAX_SPAN) {
      ctx.issues.push({
        code: 'custom',
        path: ['to'],
        input: to,
        message: `to - from must be at most ${MAX_SPAN}, got ${to - from}`,
      });
      return;
    }
    if (chunk !== undefined && Math.ceil((to - from) / chunk) > MAX_TASKS) {
      ctx.issues.push({
        code: 'custom',
        path: ['chunk'],
        input: chunk,
        message: `chunk ${chunk} would make ${Math.ceil((to - from) / chunk)} tasks; at most ${MAX_TASKS}: use a chunk of at least ${Math.ceil((to - from) / MAX_TASKS)}`,
      });
    }
  });

export type PrimesInput = z.output<typeof primesInput>;

/** One task: the primes in [from, to). */
export interface PrimesTask {
  readonly from: number;
  readonly to: number;
}

export function chunkSizeOf(input: PrimesInput): number {
  return input.chunk ?? Math.max(AUTO_MIN_CHUNK, Math.ceil((input.to - input.from) / AUTO_TASKS));
}

/** The odd primes up to and including `limit`, by a plain sieve of Eratosthenes. */
function oddPrimesUpTo(limit: number): Uint32Array {
  if (limit < 3) return new Uint32Array(0);
  // composite[i] says whether 2i + 1 is composite.
  const size = Math.floor((limit - 1) / 2) + 1;
  const composite = new Uint8Array(size);
  for (let i = 1; ; i++) {
    const p = 2 * i + 1;
    if (p * p > limit) break;
    if (composite[i] === 1) continue;
    for (let j = (p * p - 1) / 2; j < size; j += p) composite[j] = 1;
  }
  let count = 0;
  for (let i = 1; i < size; i++) if (composite[i] === 0) count++;
  const primes = new Uint32Array(count);
  let k = 0;
  for (let i = 1; i < size; i++) if (composite[i] === 0) primes[k++] = 2 * i + 1;
  return primes;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new Error('task aborted');
}

export default defineJob({
  name: 'primes',
  description: 'Counts the primes in [from, to) with a segmented sieve of Eratosthenes.',
  input: primesInput,

  *split(input): Generator<PrimesTask> {
    const chunk = chunkSizeOf(input);
    // An empty range still makes one (empty) task, so every job has a task to finish it.
    let from = input.from;
    do {
      const to = Math.min(input.to, from + chunk);
      yield { from, to };
      from = to;
    } while (from < input.to);
  },

  run(task: PrimesTask, ctx): number {
    const { from, to } = task;
    if (to <= from) return 0;
    let count = from <= 2 && 2 < to ? 1 : 0;
    const base = oddPrimesUpTo(Math.floor(Math.sqrt(to - 1)));
    // Sieve only the odd numbers, segment by segment: flag i of a segment stands for lo + 2i.
    const firstOdd = Math.max(3, from % 2 === 0 ? from + 1 : from);
    const flags = new Uint8Array(SEGMENT_ODDS);
    const total = to - firstOdd;
    let nextProgress = 0;
    for (let lo = firstOdd; lo < to; lo += 2 * SEGMENT_ODDS) {
      throwIfAborted(ctx.signal);
      const hi = Math.min(to, lo + 2 * SEGMENT_ODDS); // exclusive
      const n = Math.ceil((hi - lo) / 2);
      flags.fill(0, 0, n);
      for (let k = 0; k < base.length; k++) {
        const p = base[k]!;
        const square = p * p;
        if (square >= hi) break;
        // First odd multiple of p that is ≥ max(p², lo); `%` is exact, unlike dividing.
        let start: number;
        if (square >= lo) start = square;
        else {
          const r = lo % p;
          start = r === 0 ? lo : lo + (p - r);
          if (start % 2 === 0) start += p;
        }
        for (let i = (start - lo) / 2; i < n; i += p) flags[i] = 1;
      }
      for (let i = 0; i < n; i++) if (flags[i] === 0) count++;
      const done = (hi - firstOdd) / total;
      // At most about twenty reports a task, the last one always.
      if (done >= nextProgress || hi === to) {
        ctx.progress(done);
        nextProgress = done + 0.05;
      }
    }
    return count;
  },

  /** The job's result is the number of primes in [from, to), a plain number. */
  reduce(counts: number[]): number {
    let count = 0;
    for (const c of counts) count += c;
    return count;
  },
});

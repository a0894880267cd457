// The only source of randomness the Raft core sees: injected so a seed replays a whole run.

/** Returns a uniformly distributed integer in [0, bound). */
export interface RandomSource {
  nextInt(bound: number): number;
}

/**
 * A small, fast seeded PRNG (mulberry32). Good enough for election jitter and simulation
 * fault schedules; not for cryptography.
 */
export class SeededRandom implements RandomSource {
  #state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new TypeError(`seed must be a finite number, got ${String(seed)}`);
    this.#state = Math.trunc(seed) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  nextInt(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0) throw new RangeError(`bound must be a positive integer, got ${bound}`);
    return Math.floor(this.next() * bound);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty array');
    return items[this.nextInt(items.length)] as T;
  }

  /** An independent generator derived from this one (so adding draws in one place does not shift another). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextInt(0x7fffffff) ^ 0x5bd1e995);
  }
}

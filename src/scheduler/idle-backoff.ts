// How long a polling loop sleeps: short while things change, twice as long after each quiet pass, up to a cap.

export interface IdleBackoffOptions {
  /** The delay after a pass that saw a change (and the first one), ms. */
  readonly minMs: number;
  /** The longest delay, reached after quiet passes, ms. */
  readonly maxMs: number;
}

/**
 * The delays of a loop that polls Redis for something that rarely changes (worker registrations,
 * schedules, webhook deliveries): `minMs` while it sees changes, doubling after each pass that saw
 * none, up to `maxMs`. An idle node then asks Redis a few times a second at most instead of every
 * `minMs` (docs/performance.md, "Round two"), and a busy one keeps its short delay.
 */
export class IdleBackoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  #delayMs: number;

  constructor(options: IdleBackoffOptions) {
    if (!Number.isInteger(options.minMs) || options.minMs < 1) throw new RangeError(`minMs must be an integer >= 1, got ${options.minMs}`);
    if (!Number.isInteger(options.maxMs) || options.maxMs < options.minMs) throw new RangeError(`maxMs must be an integer >= minMs (${options.minMs}), got ${options.maxMs}`);
    this.#minMs = options.minMs;
    this.#maxMs = options.maxMs;
    this.#delayMs = options.minMs;
  }

  /** The delay before the next pass: `minMs` after a change, else the last delay doubled (at most `maxMs`). */
  next(changed: boolean): number {
    this.#delayMs = changed ? this.#minMs : Math.min(this.#delayMs * 2, this.#maxMs);
    return this.#delayMs;
  }

  /** Back to `minMs`: something outside the loop says a change is coming. */
  reset(): void {
    this.#delayMs = this.#minMs;
  }
}

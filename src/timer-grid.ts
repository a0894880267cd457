// One timer for a process's idle loops: their wake-ups fall on a shared grid of the process's clock, so an idle process wakes once per step for all of them.

/** The grid step of the process-wide `idleGrid`, ms: the heartbeat's period, and a divisor of the idle loops' delays. */
export const IDLE_GRID_MS = 500;

export interface TimerGridOptions {
  /** The grid step, ms. @default 500 */
  readonly stepMs?: number;
  /**
   * The clock, ms. @default performance.now: monotonic, like the timers themselves, so a step of
   * the wall clock (NTP, an operator) cannot hold a heartbeat back or run it early.
   */
  readonly now?: () => number;
}

interface Entry {
  readonly fn: () => void;
  readonly ref: boolean;
}

/**
 * Runs callbacks at instants that are multiples of `stepMs` on the process's clock, all those of one
 * instant from one timer. An idle node's loops (the registrations' read, the schedules', the
 * webhooks', the backlog sample, the status, the heartbeat...) each woke the process on its own,
 * each at a slightly different moment, and each Redis reply then woke it again: on the grid they
 * wake it once per step, and their commands leave in the same tick, so their replies come back
 * together too (docs/performance.md, "Idle: where the CPU goes"). Only for delays of a step or
 * more, where a shift of half a step does not matter: a busy loop keeps its own exact timer.
 */
export class TimerGrid {
  readonly #stepMs: number;
  readonly #now: () => number;
  /** Grid instant (ms on the clock) → what runs then. */
  readonly #due = new Map<number, Set<Entry>>();
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Infinity;

  constructor(options: TimerGridOptions = {}) {
    const stepMs = options.stepMs ?? IDLE_GRID_MS;
    if (!Number.isInteger(stepMs) || stepMs < 1) throw new RangeError(`stepMs must be an integer >= 1, got ${stepMs}`);
    this.#stepMs = stepMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * The grid instant nearest to `now + delayMs`, later than `now`: a delay comes out at most half
   * a step shorter or longer, so loops keep their average rate, and a loop that waits again right
   * after a wake-up (its Redis reply a millisecond later) lands back on the grid.
   */
  instantAfter(delayMs: number, now: number = this.#now()): number {
    const at = Math.round((now + delayMs) / this.#stepMs) * this.#stepMs;
    return at > now ? at : at + this.#stepMs;
  }

  /**
   * Runs `fn` at the grid instant nearest `delayMs` from now (`instantAfter`); returns what
   * cancels it. With `ref: false` the wait alone does not keep the process alive (`unref`).
   */
  after(delayMs: number, fn: () => void, { ref = true }: { ref?: boolean } = {}): () => void {
    return this.at(this.instantAfter(delayMs), fn, { ref });
  }

  /** Runs `fn` at `at`, a grid instant from `instantAfter` (a periodic loop adds its period to the last one); returns what cancels it. */
  at(at: number, fn: () => void, { ref = true }: { ref?: boolean } = {}): () => void {
    if (at % this.#stepMs !== 0) throw new RangeError(`at must be a multiple of the grid step ${this.#stepMs}, got ${at}`);
    const entry: Entry = { fn, ref };
    let entries = this.#due.get(at);
    if (entries === undefined) this.#due.set(at, (entries = new Set()));
    entries.add(entry);
    this.#arm();
    return () => {
      const set = this.#due.get(at);
      if (set?.delete(entry) !== true) return;
      if (set.size === 0) this.#due.delete(at);
      this.#arm();
    };
  }

  /**
   * Runs `fn` every `periodMs` (a multiple of the step) on the grid, like `setInterval`, from the
   * grid instant nearest `periodMs` from now; an instant already past when the previous run ends
   * (a blocked event loop) is skipped, not run late twice. Returns what stops it.
   */
  every(periodMs: number, fn: () => void, { ref = true }: { ref?: boolean } = {}): () => void {
    if (!Number.isInteger(periodMs) || periodMs < this.#stepMs || periodMs % this.#stepMs !== 0) {
      throw new RangeError(`periodMs must be a multiple of the grid step ${this.#stepMs}, got ${periodMs}`);
    }
    let stopped = false;
    let cancel: () => void;
    const schedule = (at: number) => {
      cancel = this.at(at, () => {
        if (stopped) return;
        const now = this.#now();
        const next = at + periodMs > now ? at + periodMs : this.instantAfter(periodMs, now);
        schedule(next);
        fn();
      }, { ref });
    };
    schedule(this.instantAfter(periodMs));
    return () => {
      stopped = true;
      cancel();
    };
  }

  /** A promise resolved at the grid instant nearest `delayMs` from now. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.after(delayMs, resolve));
  }

  /** How many callbacks wait (tests). */
  get size(): number {
    let n = 0;
    for (const set of this.#due.values()) n += set.size;
    return n;
  }

  /** One timer, for the earliest instant; kept alive only while a callback that wants it waits. */
  #arm(): void {
    let first = Infinity;
    let ref = false;
    for (const [at, set] of this.#due) {
      if (at < first) first = at;
      if (!ref) for (const e of set) if (e.ref) ref = true;
    }
    if (first !== this.#armedFor) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#armedFor = first;
      if (first !== Infinity) this.#timer = setTimeout(() => this.#fire(), Math.max(0, first - this.#now()));
    }
    if (ref) this.#timer?.ref();
    else this.#timer?.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    // libuv's clock (the timer's) and this one may disagree by a millisecond or two: what is due
    // within half a step runs now; the next instant is a whole step later.
    const until = this.#now() + this.#stepMs / 2;
    const run: Entry[] = [];
    for (const [at, set] of this.#due) {
      if (at > until) continue;
      this.#due.delete(at);
      run.push(...set);
    }
    this.#arm();
    for (const e of run) {
      try {
        e.fn();
      } catch (err) {
        // A callback's own error is its loop's business; the others still run.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/** The process's grid for idle loops (`IDLE_GRID_MS`). */
export const idleGrid = new TimerGrid();

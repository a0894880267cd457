// A deterministic priority queue of timed events for the simulation's virtual clock.

interface QueuedEvent {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Events fire in time order; ties fire in scheduling order, so a seed always replays the same run. */
export class EventQueue {
  #heap: QueuedEvent[] = [];
  #seq = 0;
  #now = 0;

  get now(): number {
    return this.#now;
  }

  get size(): number {
    return this.#heap.length;
  }

  schedule(delayMs: number, run: () => void): void {
    this.#push({ at: this.#now + Math.max(0, delayMs), seq: this.#seq++, run });
  }

  /** Runs the next event; false when none is due before `until`. */
  runNext(until: number): boolean {
    const top = this.#heap[0];
    if (top === undefined || top.at > until) return false;
    this.#pop();
    this.#now = top.at;
    top.run();
    return true;
  }

  #less(a: QueuedEvent, b: QueuedEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(e: QueuedEvent): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(h[i] as QueuedEvent, h[parent] as QueuedEvent)) break;
      [h[i], h[parent]] = [h[parent] as QueuedEvent, h[i] as QueuedEvent];
      i = parent;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop() as QueuedEvent;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.#less(h[l] as QueuedEvent, h[m] as QueuedEvent)) m = l;
      if (r < h.length && this.#less(h[r] as QueuedEvent, h[m] as QueuedEvent)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as QueuedEvent, h[i] as QueuedEvent];
      i = m;
    }
  }
}

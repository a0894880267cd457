// API availability as the chaos client saw it: outages from the outcomes of its requests, and their overlap with each fault.

/** One request of the client: when it started, how long it took, and how it ended. */
export interface RequestRecord {
  readonly at: number;
  readonly ms: number;
  readonly op: 'submit' | 'status';
  /**
   * ok: answered as asked; refused: a clean refusal (503 or 429 with Retry-After);
   * unavailable: connection refused or reset, a timeout, or a 5xx without Retry-After;
   * error: any other answer (a 4xx the client did not expect, a 500).
   */
  readonly outcome: 'ok' | 'refused' | 'unavailable' | 'error';
  readonly status?: number;
  readonly detail?: string;
}

export interface Interval {
  readonly from: number;
  readonly to: number;
}

/**
 * Outages: from the start of a request that was not answered (refused, unavailable or an error)
 * to the start of the next request that was. Resolution is the client's request rate.
 */
export function outagesOf(records: readonly RequestRecord[], endAt: number): Interval[] {
  const sorted = [...records].sort((a, b) => a.at - b.at);
  const out: Interval[] = [];
  let openAt: number | undefined;
  for (const r of sorted) {
    if (r.outcome === 'ok') {
      if (openAt !== undefined) out.push({ from: openAt, to: r.at });
      openAt = undefined;
    } else if (openAt === undefined) openAt = r.at;
  }
  if (openAt !== undefined) out.push({ from: openAt, to: Math.max(openAt, endAt) });
  return out;
}

/** Milliseconds of `intervals` inside `window`. */
export function overlapMs(intervals: readonly Interval[], window: Interval): number {
  let sum = 0;
  for (const i of intervals) sum += Math.max(0, Math.min(i.to, window.to) - Math.max(i.from, window.from));
  return sum;
}

/** Value at quantile q (0..1) by nearest rank; null for no samples. */
export function quantileOrNull(samples: readonly number[], q: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

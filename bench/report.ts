// Shared shape of a benchmark suite and how its figures are printed next to the baseline's.

/** A suite takes its extra argv and returns its figures (one flat JSON object). */
export type BenchSuite = (args: string[]) => Promise<Record<string, number | string | boolean | null>>;

/** Prints rows of `label | ours | baseline | note` as an aligned table on stderr-free stdout. */
export function printTable(title: string, rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths: number[] = [];
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  console.log(`\n${title}`);
  for (const r of cells) console.log('  ' + r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(4);
}

/** Value at quantile q (0..1) of the samples, by nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx] as number;
}

// How task results are packed for storing, and how a job's stored result batches become its results in task order (the reduce thread's first step).

/**
 * Some tasks' results as a worker thread packs them and store-results.lua takes them: two
 * arguments, not two per task. A module of its own so the threads and the reduce thread do not
 * load the store (and ioredis) to use it.
 */
export interface PackedResults {
  /** Task indices, in the order of `json`'s values. */
  readonly indices: readonly number[];
  /** The results' JSON, comma-separated, in the order of `indices` (a JSON array's body; '' when none). */
  readonly json: string;
}

/** `[index, result JSON]` pairs packed (as the store takes them). */
export function packResults(entries: ReadonlyArray<readonly [number, string]>): PackedResults {
  return { indices: entries.map(([index]) => index), json: entries.map(([, json]) => json).join(',') };
}

/**
 * Task results in task order from the stored batches (see `ResultStore.readResultBlobs`). A
 * batch is stored as store-results.lua writes it: JSON `{"x":[…],"i":[…],"r":[…]}`, results `r`
 * of tasks `i`, position by position, but for the positions listed in `x` (results another copy
 * stored first: not this batch's; `x` absent when there are none). The older form, `[[index,
 * result], …]`, is read too (batches stored before the packed form, docs/architecture.md §3).
 */
export function assembleResults(blobs: readonly string[], total: number): unknown[] {
  const results = new Array<unknown>(total);
  for (const blob of blobs) {
    const batch = JSON.parse(blob) as StoredBatch | Array<[number, unknown]>;
    if (Array.isArray(batch)) {
      for (const [index, value] of batch) results[index] = value;
      continue;
    }
    const { i: indices, r: values, x: skipped } = batch;
    const skip = skipped === undefined || skipped.length === 0 ? undefined : new Set(skipped);
    for (let k = 0; k < indices.length; k++) if (skip === undefined || !skip.has(k)) results[indices[k] as number] = values[k];
  }
  return results;
}

/** A stored batch in its packed form (see assembleResults). */
interface StoredBatch {
  readonly i: number[];
  readonly r: unknown[];
  readonly x?: number[];
}

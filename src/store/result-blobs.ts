// How task results are packed for storing, and how a job's stored result batches become its results in task order (the reduce thread's first step).

/**
 * Some tasks' results as a worker thread packs them and store-results.lua takes them: two
 * arguments, not two per task. A module of its own so the threads and the reduce thread do not
 * load the store (and ioredis) to use it.
 */
export interface PackedResults {
  /**
   * Task indices in the order of `json`'s values, comma-separated, a run of consecutive ones as
   * `first-last` (`0-24999,50000-50999`): an entry's tasks mostly come in such runs, so this
   * stays a few characters however many tasks it holds (IndexRuns).
   */
  readonly indices: string;
  /** How many indices (and results). */
  readonly count: number;
  /** The results' JSON, comma-separated, in the order of `indices` (a JSON array's body; '' when none). */
  readonly json: string;
}

/** Writes task indices as PackedResults.indices, as they come. */
export class IndexRuns {
  #text = '';
  #first = -1;
  #last = -2;
  count = 0;

  push(index: number): void {
    this.count++;
    if (index === this.#last + 1 && this.#first >= 0) {
      this.#last = index;
      return;
    }
    this.#flush();
    this.#first = this.#last = index;
  }

  toString(): string {
    this.#flush();
    this.#first = -1;
    this.#last = -2;
    return this.#text;
  }

  #flush(): void {
    if (this.#first < 0) return;
    const run = this.#first === this.#last ? `${this.#first}` : `${this.#first}-${this.#last}`;
    this.#text = this.#text === '' ? run : `${this.#text},${run}`;
  }
}

/** The indices of PackedResults.indices, in order. */
export function decodeIndices(text: string): number[] {
  const indices: number[] = [];
  forEachRun(text, (first, last) => {
    for (let i = first; i <= last; i++) indices.push(i);
  });
  return indices;
}

/** `[index, result JSON]` pairs packed (as the store takes them). */
export function packResults(entries: ReadonlyArray<readonly [number, string]>): PackedResults {
  const runs = new IndexRuns();
  for (const [index] of entries) runs.push(index);
  return { indices: runs.toString(), count: entries.length, json: entries.map(([, json]) => json).join(',') };
}

/**
 * Task results in task order from the stored batches (see `ResultStore.readResultBlobs`). A
 * batch is stored as store-results.lua writes it: JSON `{"x":[…],"i":"…","r":[…]}`, results `r`
 * of tasks `i` (PackedResults.indices), position by position, but for the positions listed in `x` (results another copy
 * stored first: not this batch's; `x` absent when there are none). The older form, `[[index,
 * result], …]`, is read too (batches stored before the packed form, docs/architecture.md §3).
 */
export function assembleResults(blobs: Iterable<string>, total: number): unknown[] {
  const results = new Array<unknown>(total);
  for (const blob of blobs) {
    const batch = JSON.parse(blob) as StoredBatch | Array<[number, unknown]>;
    if (Array.isArray(batch)) {
      for (const [index, value] of batch) results[index] = value;
      continue;
    }
    const { r: values, x: skipped } = batch;
    const skip = skipped === undefined || skipped.length === 0 ? undefined : new Set(skipped);
    // Walked run by run, not decoded into an array: an array of a batch's 25,000 indices is a large
    // object, garbage that only a full collection frees (docs/performance.md, `scale`).
    let k = 0;
    forEachRun(batch.i, (first, last) => {
      for (let index = first; index <= last; index++, k++) if (skip === undefined || !skip.has(k)) results[index] = values[k];
    });
  }
  return results;
}

/** Calls `run` with each run of PackedResults.indices, in order (a single index is a run of one). */
function forEachRun(text: string, run: (first: number, last: number) => void): void {
  if (text === '') return;
  for (const part of text.split(',')) {
    const dash = part.indexOf('-');
    if (dash < 0) run(Number(part), Number(part));
    else run(Number(part.slice(0, dash)), Number(part.slice(dash + 1)));
  }
}

/** A stored batch in its packed form (see assembleResults). */
interface StoredBatch {
  readonly i: string;
  readonly r: unknown[];
  readonly x?: number[];
}

/**
 * A job's stored result batches as the scheduler hands them to its reduce thread: their UTF-8
 * bytes end to end in one buffer of its own, which the thread call transfers rather than copies,
 * so the scheduler's main thread keeps none of them while the reduce runs (docs/architecture.md §5).
 */
export interface ResultBatches {
  /** Every batch's bytes, in the order read; never a view of a shared pool (it is transferred). */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Where each batch ends in `bytes` (batch k is `bytes[ends[k-1] ?? 0, ends[k])`). */
  readonly ends: readonly number[];
}

/** Packs batches read as Buffers into a ResultBatches (one copy; the Buffers can go). */
export function packBatches(parts: readonly Uint8Array[]): ResultBatches {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  // A buffer of its own, not Buffer.concat's: a small one would be a slice of Node's shared pool,
  // and transferring that would take the pool away from the rest of the process.
  const bytes = new Uint8Array(length);
  const ends: number[] = [];
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    ends.push((at += part.byteLength));
  }
  return { bytes, ends };
}

/** Each batch's JSON text, decoded one at a time as it is asked for: at most one is held as a string. */
export function* batchTexts(batches: ResultBatches): Generator<string> {
  const decoder = new TextDecoder();
  let start = 0;
  for (const end of batches.ends) {
    yield decoder.decode(batches.bytes.subarray(start, end));
    start = end;
  }
}

// How a job's stored result batches become its results in task order (the reduce thread's first step).

/**
 * Task results in task order from the stored batches (JSON `[[index, result], …]` each, see
 * `ResultStore.readResultBlobs`). A module of its own so the reduce thread does not load the store
 * (and ioredis) to use it.
 */
export function assembleResults(blobs: readonly string[], total: number): unknown[] {
  const results = new Array<unknown>(total);
  for (const blob of blobs) for (const [index, value] of JSON.parse(blob) as Array<[number, unknown]>) results[index] = value;
  return results;
}

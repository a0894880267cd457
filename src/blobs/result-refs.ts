// Results by reference: a task or reduce result over the threshold is written to the blob store and Redis keeps only this reference (docs/blobs.md).
import type { BlobRuntime, BlobStore } from './blob-store.js';
import { openBlobStore } from './open.js';
import { collect } from './streams.js';

/** The key a stored result reference is written under; a module's own result should not use it. */
export const RESULT_REF_KEY = '$ringpoolBlob';

/** What Redis keeps of a result that lives in the blob store: where, and how many bytes of JSON. */
export interface ResultRef {
  readonly ref: string;
  readonly bytes: number;
}

/** Whether a stored result (parsed) is a reference rather than the value itself. */
export function asResultRef(value: unknown): ResultRef | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const inner = (value as Record<string, unknown>)[RESULT_REF_KEY];
  if (inner === null || typeof inner !== 'object') return undefined;
  const { ref, bytes } = inner as Record<string, unknown>;
  return typeof ref === 'string' && typeof bytes === 'number' ? { ref, bytes } : undefined;
}

/** Where the result objects of a job live, below the store's root: swept together once the job has expired. */
export function jobBlobDir(namespace: string, jobId: string): string {
  return `${namespace}/results/${jobId}`;
}

/** Whether JSON of this length goes to the blob store (a cheap upper bound first: UTF-8 is at most 3 bytes per UTF-16 unit). */
export function goesToBlobs(json: string, runtime: BlobRuntime | undefined): runtime is BlobRuntime {
  if (runtime === undefined) return false;
  if (json.length > runtime.resultThresholdBytes) return true;
  return Buffer.byteLength(json) > runtime.resultThresholdBytes;
}

/** Writes the JSON of a result (content-addressed, under its job's folder) and returns the reference's JSON to store instead. */
export async function storeResultJson(json: string, jobId: string, runtime: BlobRuntime): Promise<string> {
  const store = await openBlobStore(runtime);
  const body = Buffer.from(json);
  const info = await store.put(jobBlobDir(runtime.namespace, jobId), body, '.json');
  return JSON.stringify({ [RESULT_REF_KEY]: { ref: info.ref, bytes: info.size } satisfies ResultRef });
}

/** The results with every reference replaced by the value it points to (read back for a reduce). */
export async function resolveResults(results: unknown[], runtime: BlobRuntime | undefined): Promise<unknown[]> {
  let store: BlobStore | undefined;
  for (let i = 0; i < results.length; i++) {
    const ref = asResultRef(results[i]);
    if (ref === undefined || runtime === undefined) continue;
    store ??= await openBlobStore(runtime);
    results[i] = JSON.parse((await collect(await store.get(ref.ref))).toString('utf8'));
  }
  return results;
}

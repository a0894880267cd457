// A job module's reduce as a thread runs it: the results in task order become the job's result, within its size limit.
import type { BlobRuntime } from '../blobs/blob-store.js';
import { goesToBlobs, resolveResults, storeResultJson } from '../blobs/result-refs.js';
import { RingpoolError, serializeError, type SerializedError } from '../errors.js';
import type { AnyJob, ResultType } from '../sdk/index.js';

/** What a reduce needs besides the results. */
export interface ReduceSpec {
  /** Tasks of the job: results 0 … total-1. */
  readonly total: number;
  readonly input: unknown;
  readonly resultType: ResultType;
  /** Largest result, bytes: a larger one fails the job (RESULT_TOO_LARGE). */
  readonly maxResultBytes: number;
  /** The job's id: a result stored by reference goes under its folder. */
  readonly jobId?: string;
}

/** JSON text of the result, the bytes of an image, or why there is none (errors cross the thread as data). */
export type ReduceOutcome = { readonly json: string } | { readonly bytes: Uint8Array } | { readonly error: SerializedError };

/**
 * Runs `job.reduce`; never throws: its error is the outcome. Used by the scheduler's reduce thread and a worker's task thread.
 * `blobs`: task results stored by reference are read back first, and a JSON result over the threshold is stored there (docs/blobs.md).
 */
export async function reduceResults(job: AnyJob, results: unknown[], spec: ReduceSpec, blobs?: BlobRuntime): Promise<ReduceOutcome> {
  try {
    const value: unknown = await job.reduce(await resolveResults(results, blobs), spec.input);
    if (spec.resultType === 'image/png') {
      if (!(value instanceof Uint8Array)) throw new RingpoolError('TASK_FAILED', `reduce of an image/png job must return a Uint8Array, got ${typeof value}`);
      return { bytes: withinLimit(value, value.byteLength, spec.maxResultBytes) };
    }
    const json = JSON.stringify(value ?? null);
    if (goesToBlobs(json, blobs)) return { json: await storeResultJson(json, spec.jobId ?? 'unknown', blobs) };
    return { json: withinLimit(json, Buffer.byteLength(json), spec.maxResultBytes) };
  } catch (err) {
    return { error: serializeError(err, 'TASK_FAILED') };
  }
}

function withinLimit<T>(value: T, bytes: number, limit: number): T {
  if (bytes <= limit) return value;
  throw new RingpoolError('RESULT_TOO_LARGE', `the job's result is ${bytes} bytes, more than the limit of ${limit} (maxJobResultBytes): reduce to less`, {
    details: { bytes, limit },
  });
}

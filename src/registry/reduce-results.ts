// A job module's reduce as a thread runs it: the results in task order become the job's result, within its size limit.
import type { BlobRuntime } from '../blobs/blob-store.js';
import { goesToBlobs, resolveResults, storeResultJson } from '../blobs/result-refs.js';
import { RingpoolError, serializeError, type SerializedError } from '../errors.js';
import type { AnyJob, ReduceInfo, ResultType } from '../sdk/index.js';
import { LogLines } from '../log-lines.js';

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
 * `info`: which task each result is of (ReduceInfo); absent, every task succeeded and `results` are tasks 0 … n-1.
 * `blobs`: task results stored by reference are read back first, and a JSON result over the threshold is stored there (docs/blobs.md).
 * `lines`: where `info.log` writes (the thread call's lines, or the reduce thread's).
 */
export async function reduceResults(
  job: AnyJob,
  results: unknown[],
  spec: ReduceSpec,
  info: Omit<ReduceInfo, 'log'> = allSucceeded(results.length),
  blobs?: BlobRuntime,
  lines: LogLines = new LogLines('reduce'),
): Promise<ReduceOutcome> {
  try {
    // `info.log`: the reduce's lines in the job's log (as a task's ctx.log), no task's.
    const log = (...args: unknown[]) => lines.write(null, 'reduce', args);
    const value: unknown = await job.reduce(await resolveResults(results, blobs), spec.input, Object.defineProperty(info, 'log', { value: log, enumerable: true }) as ReduceInfo);
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

/**
 * The ReduceInfo of a job none of whose `n` tasks failed. `indexes` (0 … n-1) is built when the
 * reduce first reads it: few do, and for a job of a million tasks it was 8 MB or more of the
 * reduce thread's peak (docs/performance.md, `scale`).
 */
export function allSucceeded(n: number): Omit<ReduceInfo, 'log'> {
  let indexes: number[] | undefined;
  return Object.defineProperty({ failed: [] } as unknown as Omit<ReduceInfo, 'log'>, 'indexes', {
    enumerable: true,
    get: () => (indexes ??= Array.from({ length: n }, (_, i) => i)),
  });
}

/**
 * The successful results of a job some of whose tasks failed within its tolerance (docs/tenants.md
 * "Tolerated failures"), with their task indexes; `results` in task order, holes where tasks failed.
 */
export function withoutFailed(results: unknown[], failed: ReduceInfo['failed']): { results: unknown[]; info: Omit<ReduceInfo, 'log'> } {
  // Nothing failed: the results as they are, not a copy (two arrays grown by push were ~50 MB
  // of the reduce thread's peak on a job of a million tasks).
  if (failed.length === 0) {
    for (let i = 0; i < results.length; i++) if (!(i in results)) throw new RingpoolError('INTERNAL', `task ${i} has no stored result`);
    return { results, info: allSucceeded(results.length) };
  }
  const skip = new Set(failed.map((f) => f.index));
  const kept: unknown[] = [];
  const indexes: number[] = [];
  for (let i = 0; i < results.length; i++) {
    if (skip.has(i)) continue;
    if (!(i in results)) throw new RingpoolError('INTERNAL', `task ${i} has no stored result`);
    kept.push(results[i]);
    indexes.push(i);
  }
  return { results: kept, info: { indexes, failed } };
}

// Runs a job's reduce inside a worker thread, so a heavy reduce never delays the scheduler's Raft heartbeats.
import { RingpoolError, serializeError, type SerializedError } from '../errors.js';
import { loadJobModule } from '../registry/thread-modules.js';
import { assembleResults } from '../store/result-blobs.js';

export interface ReduceRequest {
  readonly modulePath: string;
  readonly input: unknown;
  readonly total: number;
  /** The stored result batches, parsed here rather than on the scheduler's event loop. */
  readonly blobs: readonly string[];
  readonly resultType: 'json' | 'image/png';
  /** Largest result, bytes: a larger one fails the job (RESULT_TOO_LARGE). */
  readonly maxResultBytes: number;
}

/** JSON text of the result, the bytes of an image, or why there is none (errors cross the thread as data). */
export type ReduceOutcome = { readonly json: string } | { readonly bytes: Uint8Array } | { readonly error: SerializedError };

export async function reduceInThread(request: ReduceRequest): Promise<ReduceOutcome> {
  try {
    return await reduce(request);
  } catch (err) {
    return { error: serializeError(err, 'TASK_FAILED') };
  }
}

async function reduce(request: ReduceRequest): Promise<ReduceOutcome> {
  const job = await loadJobModule(request.modulePath);
  const results = assembleResults(request.blobs, request.total);
  for (let i = 0; i < request.total; i++) {
    if (!(i in results)) throw new RingpoolError('INTERNAL', `task ${i} has no stored result`);
  }
  const value: unknown = await job.reduce(results, request.input);
  if (request.resultType === 'image/png') {
    if (!(value instanceof Uint8Array)) throw new RingpoolError('TASK_FAILED', `reduce of an image/png job must return a Uint8Array, got ${typeof value}`);
    return { bytes: withinLimit(value, value.byteLength, request.maxResultBytes) };
  }
  const json = JSON.stringify(value ?? null);
  return { json: withinLimit(json, Buffer.byteLength(json), request.maxResultBytes) };
}

function withinLimit<T>(value: T, bytes: number, limit: number): T {
  if (bytes <= limit) return value;
  throw new RingpoolError('RESULT_TOO_LARGE', `the job's result is ${bytes} bytes, more than the limit of ${limit} (maxJobResultBytes): reduce to less`, {
    details: { bytes, limit },
  });
}

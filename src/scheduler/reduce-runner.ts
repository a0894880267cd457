// Runs a job's reduce inside a worker thread, so a heavy reduce never delays the scheduler's Raft heartbeats.
import { pathToFileURL } from 'node:url';
import { RingpoolError } from '../errors.js';
import type { AnyJob } from '../sdk/index.js';
import { assembleResults } from '../store/job-store.js';

export interface ReduceRequest {
  readonly modulePath: string;
  readonly input: unknown;
  readonly total: number;
  /** The stored result batches, parsed here rather than on the scheduler's event loop. */
  readonly blobs: readonly string[];
  readonly resultType: 'json' | 'image/png';
}

/** JSON text of the result, or the bytes of an image. */
export type ReduceOutcome = { readonly json: string } | { readonly bytes: Uint8Array };

export async function reduceInThread(request: ReduceRequest): Promise<ReduceOutcome> {
  const job = ((await import(pathToFileURL(request.modulePath).href)) as { default: AnyJob }).default;
  const results = assembleResults(request.blobs, request.total);
  for (let i = 0; i < request.total; i++) {
    if (!(i in results)) throw new RingpoolError('INTERNAL', `task ${i} has no stored result`);
  }
  const value: unknown = await job.reduce(results, request.input);
  if (request.resultType === 'image/png') {
    if (!(value instanceof Uint8Array)) throw new RingpoolError('TASK_FAILED', `reduce of an image/png job must return a Uint8Array, got ${typeof value}`);
    return { bytes: value };
  }
  return { json: JSON.stringify(value ?? null) };
}

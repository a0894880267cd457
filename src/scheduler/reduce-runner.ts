// Runs a job's reduce inside a worker thread, so a heavy reduce never delays the scheduler's Raft heartbeats.
import type { BlobRuntime } from '../blobs/blob-store.js';
import { RingpoolError, serializeError } from '../errors.js';
import { reduceResults, type ReduceOutcome, type ReduceSpec } from '../registry/reduce-results.js';
import { loadJobModule } from '../registry/thread-modules.js';
import { assembleResults } from '../store/result-blobs.js';

export type { ReduceOutcome } from '../registry/reduce-results.js';

export interface ReduceRequest extends ReduceSpec {
  readonly modulePath: string;
  /** The stored result batches, parsed here rather than on the scheduler's event loop. */
  readonly blobs: readonly string[];
  /** The blob store, when the node has one: results by reference are read back and a large result is stored there. */
  readonly blobStore?: BlobRuntime;
}

export async function reduceInThread(request: ReduceRequest): Promise<ReduceOutcome> {
  try {
    const job = await loadJobModule(request.modulePath);
    const results = assembleResults(request.blobs, request.total);
    for (let i = 0; i < request.total; i++) {
      if (!(i in results)) throw new RingpoolError('INTERNAL', `task ${i} has no stored result`);
    }
    return await reduceResults(job, results, request, request.blobStore);
  } catch (err) {
    return { error: serializeError(err, 'TASK_FAILED') };
  }
}

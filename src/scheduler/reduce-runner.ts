// Runs a job's reduce inside a worker thread, so a heavy reduce never delays the scheduler's Raft heartbeats.
import type { BlobRuntime } from '../blobs/blob-store.js';
import { RingpoolError, serializeError } from '../errors.js';
import { reduceResults, withoutFailed, type ReduceOutcome, type ReduceSpec } from '../registry/reduce-results.js';
import type { ReduceInfo } from '../sdk/index.js';
import { loadJobModule } from '../registry/thread-modules.js';
import { LogLines, type LogLine } from '../log-lines.js';
import { assembleResults, batchTexts, type ResultBatches } from '../store/result-blobs.js';

export type { ReduceOutcome } from '../registry/reduce-results.js';

/** The outcome with the lines the reduce wrote (`info.log`), when any: the scheduler appends them to the job's log. */
function withLines(outcome: ReduceOutcome, lines: LogLines): ReduceOutcome & { logs?: LogLine[] } {
  const logs = lines.take();
  return logs.length === 0 ? outcome : { ...outcome, logs };
}

export interface ReduceRequest extends ReduceSpec {
  readonly modulePath: string;
  /**
   * The stored result batches, parsed here rather than on the scheduler's event loop; transferred
   * to the thread, and let go of (set undefined) once the results are assembled from them.
   */
  batches: ResultBatches | undefined;
  /** The blob store, when the node has one: results by reference are read back and a large result is stored there. */
  readonly blobStore?: BlobRuntime;
  /** Tasks that failed within the job's tolerance: no result, left out of what reduce gets. */
  readonly failed?: ReduceInfo['failed'];
}

export async function reduceInThread(request: ReduceRequest): Promise<ReduceOutcome & { logs?: LogLine[] }> {
  const lines = new LogLines('reduce');
  try {
    const job = await loadJobModule(request.modulePath);
    const all = assembleResults(batchTexts(takeBatches(request)), request.total);
    const failed = new Set((request.failed ?? []).map((f) => f.index));
    for (let i = 0; i < request.total; i++) {
      if (!(i in all) && !failed.has(i)) throw new RingpoolError('INTERNAL', `task ${i} has no stored result`);
    }
    const { results, info } = withoutFailed(all, request.failed ?? []);
    const outcome = await reduceResults(job, results, request, info, request.blobStore, lines);
    return withLines(outcome, lines);
  } catch (err) {
    return withLines({ error: serializeError(err, 'TASK_FAILED') }, lines);
  }
}

/**
 * The request's batches, taken out of it: the request lives as long as the call, and the batches'
 * bytes need not live through the reduce (nothing holds them once they are assembled).
 */
function takeBatches(request: ReduceRequest): ResultBatches {
  const { batches } = request;
  if (batches === undefined) throw new RingpoolError('INTERNAL', 'the reduce request carries no result batches');
  request.batches = undefined;
  return batches;
}

// How many tasks go in one queue entry and how many a thread claims at a time, from a job type's measured task time.

/**
 * An entry is the unit of transport (one BullMQ add and move, one result script, one `WAIT`:
 * about 3 ms of CPU across the worker's main thread and Redis, measured on the `speedup` bench);
 * the tasks a thread claims at a time are the unit of execution. A node's threads share an
 * entry's tasks (claimed from shared memory, run-control.ts), so entries can be large without
 * making long tasks wait behind each other: entries aim at `targetEntryMicros` of work (the
 * fixed cost stays under a percent of it; a thread moves to the next entry through the main
 * thread, so fewer entries also means fewer such hops), claims at `targetCallMicros` (long
 * tasks one at a time, so each thread takes the next as soon as it is free; tiny ones in
 * hundreds). What bounds an entry of tiny tasks is its size: the JSON of its tasks' results
 * (measured per job type, like the task time) within `maxEntryBytes`, and of their inputs too
 * (EntryBatcher samples them as they are split). Only while a type's result size is not measured
 * yet does a count, `maxBatchSize`, stand in for it.
 */
export interface BatchShapeOptions {
  /** Work per queue entry, µs of measured task time. */
  readonly targetEntryMicros: number;
  /** Work a thread claims at a time, µs of measured task time. */
  readonly targetCallMicros: number;
  /** Most JSON bytes of task results in one queue entry (and of task inputs: EntryBatcher). */
  readonly maxEntryBytes: number;
  /** Most tasks in one queue entry while the job type's result size is not measured yet. */
  readonly maxBatchSize: number;
}

export interface BatchShape {
  /** Tasks per queue entry. */
  readonly batchSize: number;
  /** Tasks a thread claims at a time from an entry. */
  readonly perCall: number;
}

/**
 * The shape for a job type whose tasks took `micros` µs on average (undefined: not measured yet,
 * so one task per entry until the first results say how long they take). `fixedBatchSize` is a
 * job's own `batchSize` option: an entry of that many tasks, run in calls sized the same way
 * (all in one call while the task time is unknown, as a user asking for batches expects).
 * `resultBytes`: the type's measured JSON bytes per result (undefined: not measured yet).
 */
export function batchShape(micros: number | undefined, options: BatchShapeOptions, fixedBatchSize = 0, resultBytes?: number): BatchShape {
  const per = (target: number) => (micros === undefined ? 1 : Math.max(1, Math.floor(target / Math.max(1, micros))));
  const bySize = resultBytes === undefined ? options.maxBatchSize : Math.max(1, Math.floor(options.maxEntryBytes / Math.max(1, resultBytes)));
  const batchSize = fixedBatchSize > 0 ? fixedBatchSize : Math.min(bySize, per(options.targetEntryMicros));
  const perCall = fixedBatchSize > 0 && micros === undefined ? batchSize : Math.min(batchSize, per(options.targetCallMicros));
  return { batchSize, perCall };
}

/**
 * Tasks split before a job's first checkpoint (its first enqueue): enough for every thread of the
 * cluster to have a call running and one waiting, so none idles while the rest is split, and at
 * least one full entry; never later than a regular checkpoint.
 */
export function firstCheckpoint(shape: BatchShape, clusterThreads: number, regular: number): number {
  return Math.min(regular, Math.max(shape.batchSize, 2 * Math.max(1, clusterThreads) * shape.perCall));
}

/** Tasks split before the first checkpoint of a job whose task time is not yet measured. */
export const UNMEASURED_FIRST_CHECKPOINT = 128;

/** Tasks split between two checkpoints: `checkpointEvery`, or eight entries if that is more. */
export function checkpointAfter(shape: BatchShape, checkpointEvery: number): number {
  return Math.max(checkpointEvery, shape.batchSize * 8);
}

/**
 * Tasks split before a job's first checkpoint, which comes early. An unmeasured job type (`micros`
 * undefined, and no `fixedBatchSize` of its own): after UNMEASURED_FIRST_CHECKPOINT tasks, so the
 * batch size adapts once they ran. A measured one: once every thread of the cluster has a call to
 * run and one waiting (firstCheckpoint).
 */
export function openingCheckpoint(micros: number | undefined, fixedBatchSize: number, shape: BatchShape, clusterThreads: number, checkpointEvery: number): number {
  if (micros === undefined && !fixedBatchSize) return UNMEASURED_FIRST_CHECKPOINT;
  return firstCheckpoint(shape, clusterThreads, checkpointAfter(shape, checkpointEvery));
}

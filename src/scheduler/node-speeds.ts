// How many times slower each worker node runs a job's tasks than the fastest one, from the run time per task each node stored (docs/architecture.md §5, stragglers).

/** Results a node must have stored for the job before its time per task counts: one may be an outlier (a cold thread). */
export const MIN_SPEED_SAMPLES = 2;

/** The most a node's load is weighted by: beyond it the node still gets a task now and then, so it keeps being measured. */
export const MAX_SLOWNESS = 16;

/**
 * Below this ratio a node counts as fast as the fastest: on a shared host the nodes of a healthy
 * cluster differ by tens of percent from one job to the next, and weighing that noise would only
 * unbalance placement (and lose keys their node) for nothing.
 */
export const SLOW_FROM = 1.5;

/**
 * A node counts as slower only when it also spends at least this much more per task, µs: for tasks
 * of microseconds a thread's time is mostly per-call overhead, and the queue's round trips, not
 * the thread, set a node's pace.
 */
export const MIN_EXTRA_MICROS = 1_000;

/**
 * Per node with enough results of one job, its mean run time per task over the fastest such
 * node's, in [1, MAX_SLOWNESS]; 1 within the noise (SLOW_FROM, MIN_EXTRA_MICROS). Run times are the thread's own (`microsPerTask` of each stored
 * batch, summed per node by the result script), so a node that is slow because its host is busy,
 * throttled or handicapped shows as slow, and a node that merely had little to do does not.
 * Comparing nodes within one job keeps job types of different task sizes apart.
 */
export function slownessOf(storedPerNode: Readonly<Record<string, number>>, runMicrosPerNode: Readonly<Record<string, number>>): Map<string, number> {
  const perTask = new Map<string, number>();
  for (const [node, stored] of Object.entries(storedPerNode)) {
    const micros = runMicrosPerNode[node];
    if (stored >= MIN_SPEED_SAMPLES && micros !== undefined && micros > 0) perTask.set(node, micros / stored);
  }
  const fastest = Math.min(...perTask.values());
  const slowness = new Map<string, number>();
  for (const [node, micros] of perTask) {
    const ratio = micros / fastest;
    slowness.set(node, ratio < SLOW_FROM || micros - fastest < MIN_EXTRA_MICROS ? 1 : Math.min(MAX_SLOWNESS, ratio));
  }
  return slowness;
}

// How many times slower each worker node runs a job's tasks than the fastest one, from the run time per task each node stored (docs/architecture.md §5, stragglers).

/** Results a node must have stored for the job before its time per task counts: one may be an outlier (a cold thread). */
export const MIN_SPEED_SAMPLES = 2;

/** The most a node's load is weighted by: beyond it the node still gets a task now and then, so it keeps being measured. */
export const MAX_SLOWNESS = 16;

/**
 * Per node with enough results of one job, its mean run time per task over the fastest such
 * node's, in [1, MAX_SLOWNESS]. Run times are the thread's own (`microsPerTask` of each stored
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
  for (const [node, micros] of perTask) slowness.set(node, Math.min(MAX_SLOWNESS, Math.max(1, micros / fastest)));
  return slowness;
}

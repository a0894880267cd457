// How many worker nodes a cluster may have: the bounds of `--workers` that the backlog signal and the local autoscaler share.
import { availableParallelism } from 'node:os';
import { RingpoolError } from '../errors.js';

/** The bounds of the worker node count; `auto` says whether `ringpool start` scales between them. */
export interface WorkerRange {
  readonly minNodes: number;
  readonly maxNodes: number;
}

/** No `--workers` (Kubernetes, a separate `ringpool scheduler`): recommend up to this many. */
const UNBOUNDED_MAX = 1000;

/**
 * `--workers auto` → 0..(--max-workers or the cores), `MIN..MAX` → MIN..MAX, `N` → N..N, absent →
 * 0..(--max-workers or 1000): the recommendation is then clamped by whoever scales (KEDA, an HPA).
 */
export function workerRange(config: { readonly workers?: string | undefined; readonly maxWorkers?: number | undefined }): WorkerRange {
  const { workers, maxWorkers } = config;
  if (workers === undefined) return { minNodes: 0, maxNodes: maxWorkers ?? UNBOUNDED_MAX };
  if (workers === 'auto') return { minNodes: 0, maxNodes: maxWorkers ?? availableParallelism() };
  const [min, max = min] = workers.split('..').map(Number) as [number, number?];
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || min > max || max < 1) {
    throw new RingpoolError('CONFIG', `--workers ${workers}: give auto, N (1 or more) or MIN..MAX with MIN <= MAX and MAX >= 1, e.g. 0..4`);
  }
  return { minNodes: min, maxNodes: max };
}

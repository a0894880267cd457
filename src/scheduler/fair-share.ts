// Fair share between jobs (docs/tenants.md "Fair share"): each job splitting now may keep a bounded window of placed, unfinished tasks, its weighted share of the pool.
import type { BatchShape } from './batch-shape.js';

/** How a job weighs against the others, and whose it is. */
export interface ShareClaim {
  /** Tenant weight × job priority. */
  readonly weight: number;
  readonly tenant: string;
}

export interface FairShareOptions {
  /**
   * Work each thread of the cluster should have placed and unfinished so that it never idles
   * between entries, µs: the pool's capacity is this times its threads. Smaller: a newcomer waits
   * less behind the jobs already queued; larger: fewer idle gaps while the leader refills.
   */
  readonly windowMicrosPerThread: number;
  /** The most a job may ever have placed and unfinished (the split's older back-pressure bound). */
  readonly maxWindow: number;
  /** Most threads a tenant's jobs may have between them (its `maxThreadsInUse`); undefined: no cap. */
  readonly tenantMaxThreads?: (tenant: string) => number | undefined;
}

/** Task time assumed for a job type not measured yet, µs (its first results measure it). */
export const UNMEASURED_TASK_MICROS = 20_000;

/**
 * The jobs the leader is splitting and their weights. A job's window is its share of the pool's
 * capacity, `weight / Σ weights` (scaled down when its tenant's jobs together pass the tenant's
 * thread cap), turned into tasks by its measured task time. By Little's law, jobs sharing FIFO
 * queues get throughput in proportion to their windows in work, so free threads go to jobs in
 * proportion to their weights, and a new job waits behind at most the others' windows, not their
 * backlogs. Recomputed at every checkpoint, so windows follow jobs as they start and end; a new
 * leader rebuilds it as it resumes the splits.
 */
export class FairShare {
  readonly #options: FairShareOptions;
  readonly #claims = new Map<string, ShareClaim>();

  constructor(options: FairShareOptions) {
    this.#options = options;
  }

  /** The job takes part from now on (its split starts or resumes). */
  join(jobId: string, claim: ShareClaim): void {
    this.#claims.set(jobId, claim);
  }

  /** The job's split has ended (or stopped here): the others share its part. */
  leave(jobId: string): void {
    this.#claims.delete(jobId);
  }

  /** Jobs taking part now. */
  get size(): number {
    return this.#claims.size;
  }

  /** The job's share of a pool of `threads` threads, in [0, 1]; 0 for a job not taking part. */
  share(jobId: string, threads: number): number {
    const claim = this.#claims.get(jobId);
    if (claim === undefined) return 0;
    let total = 0;
    let tenantTotal = 0;
    for (const c of this.#claims.values()) {
      total += c.weight;
      if (c.tenant === claim.tenant) tenantTotal += c.weight;
    }
    // A tenant over its thread cap: each of its jobs shrinks alike (the freed part is left unused, as a cap means).
    const cap = this.#options.tenantMaxThreads?.(claim.tenant);
    const tenantThreads = (tenantTotal / total) * Math.max(1, threads);
    const scale = cap === undefined ? 1 : Math.min(1, cap / tenantThreads);
    return (claim.weight / total) * scale;
  }

  /**
   * The job's window: tasks it may have placed and unfinished, on a cluster of `threads` threads,
   * its tasks taking `micros` µs each (undefined: not measured yet); at least one.
   */
  window(jobId: string, threads: number, micros: number | undefined): number {
    const capacity = Math.max(1, threads) * this.#options.windowMicrosPerThread;
    const tasks = Math.floor((this.share(jobId, threads) * capacity) / Math.max(1, micros ?? UNMEASURED_TASK_MICROS));
    return Math.min(this.#options.maxWindow, Math.max(1, tasks));
  }

  /**
   * The window the job would have at the lightest weight taking part: entries are fitted to it
   * (fitToWindow), so every job's entries hold about the same work. A node's threads take turns
   * between the entries in hand, so entries of unequal work would favour the jobs with small ones.
   */
  entryWindow(jobId: string, threads: number, micros: number | undefined): number {
    const claim = this.#claims.get(jobId);
    if (claim === undefined) return this.window(jobId, threads, micros);
    let lightest = claim.weight;
    for (const c of this.#claims.values()) lightest = Math.min(lightest, c.weight);
    return Math.max(1, Math.floor((this.window(jobId, threads, micros) * lightest) / claim.weight));
  }
}

/**
 * The entry shape fitted to a window: entries small enough that a job's window spans a few of
 * them on each node (`nodes`), so a small window is still refilled an entry at a time rather than
 * all at once. Costs a transport round per entry (docs/architecture.md §5): only small windows shrink entries.
 */
export function fitToWindow(shape: BatchShape, window: number, nodes: number): BatchShape {
  const most = Math.max(1, Math.floor(window / (2 * Math.max(1, nodes))));
  if (shape.batchSize <= most) return shape;
  return { batchSize: most, perCall: Math.min(shape.perCall, most) };
}

/** Tasks split before the next checkpoint: at most half a window, so a job keeps near its window. */
export function checkpointWithin(regular: number, window: number): number {
  return Math.max(1, Math.min(regular, Math.ceil(window / 2)));
}

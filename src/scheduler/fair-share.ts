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

/** How fast a job's credit fades, ms: the deficit corrects a steady bias, not a moment's noise. */
const CREDIT_FADE_MS = 5_000;
/** A job whose split has not waited for capacity for this long is not backlogged: it gets no credit. */
const BACKLOGGED_WITHIN_MS = 1_000;

/** What a job was served against its share, and what it is owed (its deficit), in tasks. */
interface Account {
  /** Its done count at the last look; undefined before the first. */
  done: number | undefined;
  /** Its task time at the last window asked for, µs. */
  micros: number;
  /** Tasks it is owed (+) or was served beyond its share (−); fades by CREDIT_FADE_MS. */
  credit: number;
  /** When the credit was last faded. */
  at: number;
  /** When its split last waited for capacity (its window full): it wants more than it has. */
  waitedAt: number;
}

/**
 * The jobs the leader is splitting and their weights. A job's window is its share of the pool's
 * capacity, `weight / Σ weights` (scaled down when its tenant's jobs together pass the tenant's
 * thread cap), turned into tasks by its measured task time. By Little's law, jobs sharing FIFO
 * queues get throughput in proportion to their windows in work, so free threads go to jobs in
 * proportion to their weights, and a new job waits behind at most the others' windows, not their
 * backlogs. Recomputed at every checkpoint, so windows follow jobs as they start and end; a new
 * leader rebuilds it as it resumes the splits.
 *
 * Windows alone come within a few per cent of the weights, not closer: a light job's window is a
 * few tasks, its results come back an entry at a time and are seen a poll late, so what it keeps
 * queued dips below its window more, in proportion, than a heavy job's does (the weighted bench
 * gave a weight-1 tenant 0.084–0.096 of the pool for its 0.1). So each job also keeps a deficit,
 * as deficit round robin does: as results come in, every backlogged job is credited its share of
 * them and the job served is debited what it got; a job owed tasks holds that many more in its
 * window (a job served too much, fewer: at most half). The credit fades in seconds, so it corrects
 * a steady bias and not a moment's noise, and a job not waiting for capacity (its split is slower
 * than its share) is owed nothing: the pool stays work-conserving.
 */
export class FairShare {
  readonly #options: FairShareOptions;
  readonly #claims = new Map<string, ShareClaim>();
  readonly #accounts = new Map<string, Account>();

  constructor(options: FairShareOptions) {
    this.#options = options;
  }

  /** The job takes part from now on (its split starts or resumes). */
  join(jobId: string, claim: ShareClaim): void {
    this.#claims.set(jobId, claim);
    if (!this.#accounts.has(jobId)) this.#accounts.set(jobId, { done: undefined, micros: UNMEASURED_TASK_MICROS, credit: 0, at: 0, waitedAt: -Infinity });
  }

  /** The job's split has ended (or stopped here): the others share its part. */
  leave(jobId: string): void {
    this.#claims.delete(jobId);
    this.#accounts.delete(jobId);
  }

  /**
   * The job's results so far (`done`), seen at `now` (ms); `waiting`: its window is full, so its
   * split waits for capacity. The results since the last look are credited to every backlogged
   * job by its share and debited to this one.
   */
  observe(jobId: string, done: number, now: number, threads: number, waiting: boolean): void {
    const account = this.#accounts.get(jobId);
    if (account === undefined) return;
    if (waiting) account.waitedAt = now;
    const last = account.done;
    account.done = done;
    if (last === undefined || done <= last) return;
    // Every job's share at once (each share() walks all claims: called per job, a poll would cost jobs²).
    const shares = this.#shares(threads);
    let total = 0;
    for (const [id, a] of this.#accounts) if (now - a.waitedAt <= BACKLOGGED_WITHIN_MS) total += shares.get(id) ?? 0;
    const work = (done - last) * account.micros;
    for (const [id, a] of this.#accounts) {
      a.credit *= Math.exp(-Math.max(0, now - a.at) / CREDIT_FADE_MS);
      a.at = now;
      if (now - a.waitedAt > BACKLOGGED_WITHIN_MS) a.credit = 0; // deficit round robin: an idle flow keeps no deficit
      else if (total > 0) a.credit += (work * (shares.get(id) ?? 0)) / total / a.micros;
    }
    if (now - account.waitedAt <= BACKLOGGED_WITHIN_MS) account.credit -= done - last;
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
    return this.#scaled(claim, total, tenantTotal, threads);
  }

  /** Every job's share (as share()), in one walk of the claims. */
  #shares(threads: number): Map<string, number> {
    let total = 0;
    const byTenant = new Map<string, number>();
    for (const c of this.#claims.values()) {
      total += c.weight;
      byTenant.set(c.tenant, (byTenant.get(c.tenant) ?? 0) + c.weight);
    }
    const shares = new Map<string, number>();
    for (const [id, c] of this.#claims) shares.set(id, this.#scaled(c, total, byTenant.get(c.tenant) ?? c.weight, threads));
    return shares;
  }

  /** A claim's share of `total` weight; a tenant over its thread cap: each of its jobs shrinks alike (the freed part is left unused, as a cap means). */
  #scaled(claim: ShareClaim, total: number, tenantTotal: number, threads: number): number {
    const cap = this.#options.tenantMaxThreads?.(claim.tenant);
    const tenantThreads = (tenantTotal / total) * Math.max(1, threads);
    const scale = cap === undefined ? 1 : Math.min(1, cap / tenantThreads);
    return (claim.weight / total) * scale;
  }

  /**
   * The job's window: tasks it may have placed and unfinished, on a cluster of `threads` threads,
   * its tasks taking `micros` µs each (undefined: not measured yet); at least one. Rounded to the
   * nearest task, not down: windows of light jobs are a few tasks (a weight-1 job beside weights
   * 2, 3 and 4 had 7 of its 7.8), so rounding down took up to a task from each, proportionally
   * the most from the lightest (it got 0.084–0.096 of the pool for its 0.1). The measured task
   * time moves a little from one checkpoint to the next, so the nearest task is right on average.
   */
  window(jobId: string, threads: number, micros: number | undefined): number {
    const base = this.#window(jobId, threads, micros);
    const account = this.#accounts.get(jobId);
    if (account === undefined) return base;
    account.micros = Math.max(1, micros ?? UNMEASURED_TASK_MICROS);
    const owed = Math.min(base, Math.max(-base / 2, account.credit));
    return Math.min(this.#options.maxWindow, Math.max(1, Math.round(base + owed)));
  }

  /**
   * The window by the job's share alone, without its deficit. Tasks longer than a thread's
   * window of work still get a task running and one waiting on each thread of the job's share:
   * counted in work alone, a lone job of 500 ms tasks on 2 threads had a window of one task, so
   * past its opening it ran one task at a time and left a thread idle.
   */
  #window(jobId: string, threads: number, micros: number | undefined): number {
    const share = this.share(jobId, threads);
    const capacity = Math.max(1, threads) * this.#options.windowMicrosPerThread;
    const tasks = Math.round((share * capacity) / Math.max(1, micros ?? UNMEASURED_TASK_MICROS));
    const busyThreads = Math.ceil(2 * share * Math.max(1, threads) - 1e-9); // less a rounding error: 2 × ⅓ × 3 is not quite 2
    return Math.min(this.#options.maxWindow, Math.max(1, busyThreads, tasks));
  }

  /**
   * The window the job would have at the lightest weight taking part: entries are fitted to it
   * (fitToWindow), so every job's entries hold about the same work. A node's threads take turns
   * between the entries in hand, so entries of unequal work would favour the jobs with small ones.
   */
  entryWindow(jobId: string, threads: number, micros: number | undefined): number {
    const claim = this.#claims.get(jobId);
    if (claim === undefined) return this.#window(jobId, threads, micros);
    let lightest = claim.weight;
    for (const c of this.#claims.values()) lightest = Math.min(lightest, c.weight);
    return Math.max(1, Math.floor((this.#window(jobId, threads, micros) * lightest) / claim.weight));
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

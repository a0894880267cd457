// Work stealing and speculation: entries waiting on a slow or backed-up node move to a node with a free thread; a slow node's last running entries get backup copies.
import type { Job, Queue } from 'bullmq';
import type { JobStore } from '../store/job-store.js';
import { batchStamp, batchTasks, isStaleBatch, rebatch, upgradeEntry, type TaskBatch } from '../transport/task-batch.js';
import type { HashRing } from '../ring/index.js';
import type { MemberNode } from './membership.js';
import { movedEntry } from './queue-entry.js';

/** Most entries looked at per busy node and round: the oldest wait the longest. */
const LOOK_AT = 50;

/**
 * A node this many times slower than the fastest (node-speeds.ts) is a straggler whatever its
 * entries' age: what waits there moves at once, and its running entries get backup copies when a
 * faster node has a free thread and nothing waits anywhere. Below it, differences are the noise of
 * a shared host, and only age (`stealAfterMs`) makes an entry move or be copied.
 */
export const STRAGGLER_SLOWNESS = 2;

/**
 * How long a stolen entry's copy is held back (BullMQ delay) until its original is known removed:
 * then it is released at once; if the original was taken meanwhile, the copy is removed instead.
 * Were this leader to die in between, the copy still runs after this delay, so nothing is lost.
 */
const HELD_MS = 10_000;

/** What a round of stealing moved. */
export interface StealReport {
  /** Tasks moved, by job id (tasks with a stored result are not moved). */
  readonly stolenByJob: ReadonlyMap<string, number>;
  /** Queue entries taken off busy nodes. */
  readonly entries: number;
  /** Entries whose original a worker took before it could be removed: their copy was withdrawn. */
  readonly withdrawn: number;
  /** Backup copies of running tasks enqueued on idle nodes, by job id. */
  readonly speculatedByJob: ReadonlyMap<string, number>;
}

/** A node's queue as the round sees it. */
interface QueueState {
  readonly node: MemberNode;
  readonly waiting: number;
  readonly active: number;
  /** Threads it has free for more entries: its threads less the entries it holds (0 while any waits). */
  free: number;
  readonly slowness: number;
}

/**
 * One round (docs/architecture.md §5, stragglers). A node has free threads when nothing waits in
 * its queue and it holds fewer entries than it has threads (a worker takes a few entries ahead,
 * BullMQ `active`, so `active` alone is not "running"). Entries waiting on a node move to nodes
 * with free threads when they have waited over `stealAfterMs`, or at once when that node is a
 * straggler (STRAGGLER_SLOWNESS): the fastest nodes with free threads first, nearer along the
 * ring after it among equals (the walk bounded placement takes). Once nothing waits anywhere
 * (jobs down to their last tasks), the entries a straggler holds get one backup copy each on a
 * faster node with a free thread (speculative execution, as MapReduce's backup tasks);
 * first-write-wins keeps one result per task and the loser is stopped by its worker
 * (worker-node.ts #watchForWinner).
 *
 * A stolen entry is not run twice: its copy is enqueued held back (delayed), the original removed
 * (BullMQ refuses to remove an entry a worker took), and only then is the copy released; an
 * original taken meanwhile keeps its tasks and the held copy is removed.
 */
export async function stealFromStragglers(args: {
  nodes: readonly MemberNode[];
  ring: HashRing;
  term: number;
  store: JobStore;
  queueFor: (node: string) => Queue<TaskBatch>;
  stealAfterMs: number;
  /** Node → how many times slower than the fastest (absent: 1). */
  slowness: ReadonlyMap<string, number>;
  /** Ids of running entries already given a backup copy (kept by the caller between rounds). */
  speculated: Set<string>;
  now?: number;
}): Promise<StealReport> {
  const { nodes, term, store, queueFor } = args;
  const now = args.now ?? Date.now();
  const states: QueueState[] = await Promise.all(
    nodes.map(async (node) => {
      const counts = await queueFor(node.id).getJobCounts('waiting', 'prioritized', 'active');
      const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
      const active = counts.active ?? 0;
      return { node, waiting, active, free: waiting > 0 ? 0 : Math.max(0, node.weight - active), slowness: args.slowness.get(node.id) ?? 1 };
    }),
  );
  const stolenByJob = new Map<string, number>();
  const speculatedByJob = new Map<string, number>();
  let entries = 0;
  let withdrawn = 0;
  const hungry = () => states.filter((s) => s.free > 0);
  if (hungry().length === 0) return { stolenByJob, entries, withdrawn, speculatedByJob };
  // The node whose waiting work takes longest to drain first.
  const backlog = (s: QueueState) => (s.waiting * s.slowness) / Math.max(1, s.node.weight);
  for (const busy of states.filter((s) => s.waiting > 0).sort((a, b) => backlog(b) - backlog(a))) {
    const straggler = busy.slowness >= STRAGGLER_SLOWNESS;
    const waited = (await queueFor(busy.node.id).getJobs(['waiting', 'prioritized'], 0, LOOK_AT - 1, true)).map(upgradeEntry).filter(
      (e) => e.data !== undefined && e.data.copy !== true && (straggler || now - e.timestamp > args.stealAfterMs),
    );
    for (const taker of takers(args.ring, busy, hungry())) {
      const taken = waited.splice(0, taker.free);
      if (taken.length === 0) break;
      for (const entry of taken) {
        const moved = await moveEntry(entry, taker.node.id, term, store, queueFor);
        if (moved === undefined) {
          withdrawn++;
          continue;
        }
        taker.free--;
        entries++;
        if (moved > 0) stolenByJob.set(entry.data.jobId, (stolenByJob.get(entry.data.jobId) ?? 0) + moved);
      }
    }
  }
  // Free threads left and nothing waits anywhere: the jobs are down to their last tasks.
  if (hungry().length > 0 && states.every((s) => s.waiting === 0)) {
    for (const [jobId, tasks] of await speculate(args, states, hungry)) speculatedByJob.set(jobId, (speculatedByJob.get(jobId) ?? 0) + tasks);
  }
  return { stolenByJob, entries, withdrawn, speculatedByJob };
}

/**
 * Speculative execution: the entries a straggler holds (running, or taken ahead for its threads)
 * get a backup copy (TaskBatch.copy) on a faster node with a free thread, one copy per entry;
 * whichever stores first wins, and the other is stopped by its worker. Returns tasks copied by
 * job. Only a straggler's: an entry merely running long on a node measured as fast as the others
 * is as likely long as slow, and its copy would be expected to lose (on a loaded host such copies
 * were most of the work wasted with nothing slow).
 */
async function speculate(
  args: { ring: HashRing; term: number; store: JobStore; queueFor: (node: string) => Queue<TaskBatch>; speculated: Set<string> },
  states: readonly QueueState[],
  hungry: () => QueueState[],
): Promise<Map<string, number>> {
  const copied = new Map<string, number>();
  for (const busy of states.filter((s) => s.active > 0).sort((a, b) => b.slowness - a.slowness)) {
    const straggler = busy.slowness >= STRAGGLER_SLOWNESS;
    if (!straggler) continue;
    const running = (await args.queueFor(busy.node.id).getJobs(['active'], 0, LOOK_AT - 1, true)).map(upgradeEntry).filter(
      (e) => e.data !== undefined && e.id !== undefined && e.data.copy !== true && !args.speculated.has(`${busy.node.id}/${e.id}`),
    );
    // A copy on a node as slow as the original's would not be expected to win.
    for (const taker of takers(args.ring, busy, hungry().filter((s) => s.slowness < busy.slowness))) {
      const taken = running.splice(0, taker.free);
      if (taken.length === 0) break;
      for (const entry of taken) {
        args.speculated.add(`${busy.node.id}/${entry.id}`);
        const copy = await copyOf(entry, args.term, args.store, { copy: true });
        if (copy === undefined) continue;
        await args.queueFor(taker.node.id).add(copy.name, copy.data, copy.opts);
        taker.free--;
        copied.set(entry.data.jobId, (copied.get(entry.data.jobId) ?? 0) + copy.data.taskCount);
      }
    }
  }
  return copied;
}

/** The nodes with free threads in the order a walk along the ring from the busy node's id (as a key) meets them; the busy node itself never. */
function takers(ring: HashRing, busy: QueueState, hungry: readonly QueueState[]): QueueState[] {
  const order = ring.candidates(busy.node.id, ring.size);
  return hungry.filter((s) => s !== busy).sort((a, b) => a.slowness - b.slowness || rank(order, a.node.id) - rank(order, b.node.id));
}

function rank(order: readonly string[], id: string): number {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
}

/** The entry's unstored tasks as a new entry stamped with `term` (`extra`: more batch fields); undefined if none is left or the entry is stale or its job ended. */
async function copyOf(entry: Job<TaskBatch>, term: number, store: JobStore, extra: Partial<TaskBatch> = {}): Promise<{ name: string; data: TaskBatch; opts: Job<TaskBatch>['opts'] } | undefined> {
  const batch = entry.data;
  const view = await store.placementView(batch.jobId);
  if (view.ended || isStaleBatch(batchStamp(batch), view.adoptions)) return undefined;
  const all = batchTasks(batch);
  const stored = await store.results.storedIndices(batch.jobId, all.map(([i]) => i));
  const tasks = all.filter(([i]) => !stored.has(i));
  if (tasks.length === 0) return undefined;
  return movedEntry(entry.name, entry.opts, { ...rebatch(batch, term, tasks), ...extra });
}

/**
 * Moves one waiting entry's unstored tasks to `to` (stamped with `term`): the copy is enqueued
 * held back, the original removed, the copy released. Returns the tasks moved (0: nothing left to
 * move, the original removed), or undefined when a worker took the original first (the copy is
 * withdrawn, the original runs).
 */
async function moveEntry(entry: Job<TaskBatch>, to: string, term: number, store: JobStore, queueFor: (node: string) => Queue<TaskBatch>): Promise<number | undefined> {
  const copy = await copyOf(entry, term, store);
  const held = copy === undefined ? undefined : await queueFor(to).add(copy.name, copy.data, { ...copy.opts, delay: HELD_MS });
  const removed = await entry.remove().then(
    () => true,
    () => false, // taken by its worker meanwhile (locked): it keeps its tasks
  );
  if (!removed) {
    // Withdrawn; if the copy was released already (this round outlived HELD_MS), both run and the first write wins.
    await held?.remove().catch(() => {});
    return undefined;
  }
  await held?.promote().catch(() => {}); // not delayed any more: released by its delay already
  return copy?.data.taskCount ?? 0;
}

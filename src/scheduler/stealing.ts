// Work stealing: queue entries that waited too long on a busy node go to an idle node, the next ones along the ring first.
import type { Job, Queue } from 'bullmq';
import type { JobStore } from '../store/job-store.js';
import { batchStamp, isStaleBatch, rebatch, type TaskBatch } from '../transport/task-batch.js';
import type { HashRing } from '../ring/index.js';
import type { MemberNode } from './membership.js';
import { movedEntry } from './queue-entry.js';

/** Most entries looked at per busy node and round: the oldest wait the longest. */
const LOOK_AT = 50;

/** What a round of stealing moved. */
export interface StealReport {
  /** Tasks moved, by job id (tasks with a stored result are not moved). */
  readonly stolenByJob: ReadonlyMap<string, number>;
  /** Queue entries taken off busy nodes. */
  readonly entries: number;
  /** Backup copies of running tasks enqueued on idle nodes, by job id. */
  readonly speculatedByJob: ReadonlyMap<string, number>;
}

/** A node's queue as the round sees it. */
interface QueueState {
  readonly node: MemberNode;
  readonly waiting: number;
  readonly active: number;
}

/**
 * One round (docs/architecture.md §5, stragglers). A node is idle when nothing waits in its queue
 * and nothing runs there (an entry's tasks are shared by all of a node's threads, so one running
 * entry may keep them all busy); a node whose oldest waiting entry has waited
 * over `stealAfterMs` while a node is idle is a straggler (slow, or handed more than it can do).
 * Each idle node takes up to its thread count of the straggler's oldest waiting entries, idle
 * nodes nearer along the ring after the straggler first: the same walk bounded placement takes.
 * The copies are enqueued before the originals are removed (as an evacuation does): an original a
 * worker took meanwhile runs too, and first-write-wins keeps one result per task.
 */
export async function stealFromStragglers(args: {
  nodes: readonly MemberNode[];
  ring: HashRing;
  term: number;
  store: JobStore;
  queueFor: (node: string) => Queue<TaskBatch>;
  stealAfterMs: number;
  /** Ids of running entries already given a backup copy (kept by the caller between rounds). */
  speculated: Set<string>;
  now?: number;
}): Promise<StealReport> {
  const { nodes, term, store, queueFor } = args;
  const now = args.now ?? Date.now();
  const states: QueueState[] = await Promise.all(
    nodes.map(async (node) => {
      const counts = await queueFor(node.id).getJobCounts('waiting', 'prioritized', 'active');
      return { node, waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0 };
    }),
  );
  // Nothing queued and nothing running: one running entry may already keep all of a node's threads busy (its tasks are shared by them).
  const idle = states.filter((s) => s.waiting === 0 && s.active === 0);
  const stolenByJob = new Map<string, number>();
  const speculatedByJob = new Map<string, number>();
  let entries = 0;
  if (idle.length === 0) return { stolenByJob, entries, speculatedByJob };
  for (const busy of states.filter((s) => s.waiting > 0)) {
    const waited = (await queueFor(busy.node.id).getJobs(['waiting', 'prioritized'], 0, LOOK_AT - 1, true)).filter((e) => e.data !== undefined && now - e.timestamp > args.stealAfterMs);
    for (const taker of ringOrder(args.ring, busy.node.id, idle)) {
      const taken = waited.splice(0, taker.node.weight);
      if (taken.length === 0) break;
      for (const entry of taken) {
        const moved = await moveEntry(entry, taker.node.id, term, store, queueFor);
        if (moved > 0) stolenByJob.set(entry.data.jobId, (stolenByJob.get(entry.data.jobId) ?? 0) + moved);
        entries++;
      }
      idle.splice(idle.indexOf(taker), 1); // one straggler's work per idle node and round
    }
  }
  // Idle nodes left and nothing waits anywhere: the jobs are down to their last tasks.
  if (idle.length > 0 && states.every((s) => s.waiting === 0)) {
    for (const [jobId, tasks] of await speculate(args, states, idle, now)) speculatedByJob.set(jobId, (speculatedByJob.get(jobId) ?? 0) + tasks);
  }
  return { stolenByJob, entries, speculatedByJob };
}

/**
 * Speculative execution: an entry running longer than `stealAfterMs` gets a backup copy on an
 * idle node (one copy per entry); whichever stores first wins, the other is stopped by its
 * worker (worker-node.ts) once it sees the results stored. Returns tasks copied by job.
 */
async function speculate(
  args: { ring: HashRing; term: number; store: JobStore; queueFor: (node: string) => Queue<TaskBatch>; stealAfterMs: number; speculated: Set<string> },
  states: readonly QueueState[],
  idle: QueueState[],
  now: number,
): Promise<Map<string, number>> {
  const copied = new Map<string, number>();
  for (const busy of states.filter((s) => s.active > 0)) {
    const running = (await args.queueFor(busy.node.id).getJobs(['active'], 0, LOOK_AT - 1, true)).filter(
      (e) => e.data !== undefined && e.id !== undefined && !args.speculated.has(`${busy.node.id}/${e.id}`) && now - (e.processedOn ?? now) > args.stealAfterMs,
    );
    for (const taker of ringOrder(args.ring, busy.node.id, idle)) {
      const taken = running.splice(0, taker.node.weight);
      if (taken.length === 0) break;
      for (const entry of taken) {
        args.speculated.add(`${busy.node.id}/${entry.id}`);
        const tasks = await copyEntry(entry, taker.node.id, args.term, args.store, args.queueFor);
        if (tasks > 0) copied.set(entry.data.jobId, (copied.get(entry.data.jobId) ?? 0) + tasks);
      }
      idle.splice(idle.indexOf(taker), 1);
    }
  }
  return copied;
}

/** The idle nodes in the order a walk along the ring from the busy node's id (as a key) meets them. */
function ringOrder(ring: HashRing, from: string, idle: readonly QueueState[]): QueueState[] {
  const order = ring.candidates(from, ring.size);
  return [...idle].sort((a, b) => rank(order, a.node.id) - rank(order, b.node.id));
}

function rank(order: readonly string[], id: string): number {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
}

/** Enqueues on `to` a copy of the entry's unstored tasks, stamped with `term`; the tasks copied. */
async function copyEntry(entry: Job<TaskBatch>, to: string, term: number, store: JobStore, queueFor: (node: string) => Queue<TaskBatch>): Promise<number> {
  const batch = entry.data;
  const view = await store.placementView(batch.jobId);
  if (view.ended || isStaleBatch(batchStamp(batch), view.adoptions)) return 0;
  const stored = await store.results.storedIndices(batch.jobId, batch.tasks.map(([i]) => i));
  const tasks = batch.tasks.filter(([i]) => !stored.has(i));
  if (tasks.length === 0) return 0;
  const copy = movedEntry(entry.name, entry.opts, rebatch(batch, term, tasks));
  await queueFor(to).add(copy.name, copy.data, copy.opts);
  return tasks.length;
}

/** Moves one entry's unstored tasks to `to` (stamped with `term`), then removes it; the tasks moved. */
async function moveEntry(entry: Job<TaskBatch>, to: string, term: number, store: JobStore, queueFor: (node: string) => Queue<TaskBatch>): Promise<number> {
  const tasks = await copyEntry(entry, to, term, store, queueFor);
  // Taken by its worker meanwhile (locked): both run, the first write wins.
  await entry.remove().catch(() => {});
  return tasks;
}

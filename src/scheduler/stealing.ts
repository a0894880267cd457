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
}

/** A node's queue as the round sees it. */
interface QueueState {
  readonly node: MemberNode;
  readonly waiting: number;
  readonly active: number;
}

/**
 * One round (docs/architecture.md §5, stragglers). A node is idle when nothing waits in its queue
 * and fewer entries run there than it has threads; a node whose oldest waiting entry has waited
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
  const idle = states.filter((s) => s.waiting === 0 && s.active < s.node.weight);
  const stolenByJob = new Map<string, number>();
  let entries = 0;
  if (idle.length === 0) return { stolenByJob, entries };
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
  return { stolenByJob, entries };
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

/** Moves one entry's unstored tasks to `to` (stamped with `term`), then removes it; the tasks moved. */
async function moveEntry(entry: Job<TaskBatch>, to: string, term: number, store: JobStore, queueFor: (node: string) => Queue<TaskBatch>): Promise<number> {
  const batch = entry.data;
  const view = await store.placementView(batch.jobId);
  if (view.ended || isStaleBatch(batchStamp(batch), view.adoptions)) return 0;
  const stored = await store.results.storedIndices(batch.jobId, batch.tasks.map(([i]) => i));
  const tasks = batch.tasks.filter(([i]) => !stored.has(i));
  if (tasks.length > 0) {
    const copy = movedEntry(entry.name, entry.opts, rebatch(batch, term, tasks));
    await queueFor(to).add(copy.name, copy.data, copy.opts);
  }
  // Taken by its worker meanwhile (locked): both run, the first write wins.
  await entry.remove().catch(() => {});
  return tasks.length;
}

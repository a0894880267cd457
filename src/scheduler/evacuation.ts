// Moves the tasks of a node that left (drained or presumed dead) to their new owners on the ring.
import type { JobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobStore } from '../store/job-store.js';
import { batchStamp, batchTasks, isStaleBatch, rebatch, upgradeEntry, type TaskBatch } from '../transport/task-batch.js';
import type { HashRing } from '../ring/index.js';
import { placeTask } from './placement.js';
import { movedEntry, type QueueEntry } from './queue-entry.js';

/** Entry states that can be moved: a drained node keeps its running entries until they finish. */
const QUEUED: JobType[] = ['waiting', 'delayed', 'prioritized', 'paused'];

export interface EvacuationReport {
  readonly node: string;
  /** Tasks re-placed on other nodes (tasks with a stored result are not moved). */
  readonly movedTasks: number;
  /** Queue entries taken off the departed node. */
  readonly entries: number;
}

/**
 * Re-places every queued (and, for a lapsed node, running) task of `node` by the current ring,
 * stamped with the leader's term. Ids stay deterministic, so a repeated evacuation is a no-op;
 * a late result from the old node is dropped by first-write-wins.
 */
export async function evacuateNode(
  args: {
    node: string;
    lapsed: boolean;
    ring: HashRing;
    term: number;
    store: JobStore;
    connection: Redis;
    queueFor: (node: string) => Queue<TaskBatch>;
    /** The placement key of a task, as the split computed it. */
    keyOf: (batch: TaskBatch, task: readonly [number, unknown]) => string;
    /** Asked right before a lapsed node's queue is cleared: false once the node is back. @default always */
    stillDeparted?: () => boolean;
  },
): Promise<EvacuationReport> {
  const { node, lapsed, ring, term, store } = args;
  const source = store.workers.queue(node, args.connection);
  try {
    const entries = (await source.getJobs(lapsed ? [...QUEUED, 'active'] : QUEUED, 0, -1)).map(upgradeEntry);
    let movedTasks = 0;
    const targets = new Map<string, QueueEntry[]>();
    for (const entry of entries) {
      const batch = entry.data;
      if (batch === undefined) continue;
      // An ended job needs nothing; a stale batch's tasks were re-placed by the leader that adopted the job.
      const view = await store.placementView(batch.jobId);
      if (view.ended || isStaleBatch(batchStamp(batch), view.adoptions)) continue;
      const tasks = batchTasks(batch);
      const stored = await store.results.storedIndices(batch.jobId, tasks.map(([i]) => i));
      const byNode = new Map<string, Array<readonly [number, unknown]>>();
      for (const task of tasks) {
        if (stored.has(task[0])) continue;
        const owner = placeTask(ring, args.keyOf(batch, task));
        if (owner === undefined) throw new Error('no live worker node to move tasks to');
        let list = byNode.get(owner);
        if (list === undefined) byNode.set(owner, (list = []));
        list.push(task);
      }
      for (const [owner, tasks] of byNode) {
        movedTasks += tasks.length;
        let list = targets.get(owner);
        if (list === undefined) targets.set(owner, (list = []));
        list.push(movedEntry(entry.name, entry.opts, rebatch(batch, term, tasks)));
      }
    }
    await Promise.all([...targets].map(([owner, list]) => args.queueFor(owner).addBulk(list as never)));
    // Only after the copies are safely enqueued: remove the originals.
    // A lapsed node's queue is cleared whole (its running entries are locked by a worker presumed
    // dead), unless the node came back meanwhile: then the leader may be placing new entries on
    // it, which clearing would lose; only the entries moved are removed (a locked one is left to
    // its worker, whose result the first write wins over or drops).
    if (entries.length > 0) {
      if (lapsed && (args.stillDeparted?.() ?? true)) await source.obliterate({ force: true });
      else await Promise.all(entries.map((e) => e.remove().catch(() => {})));
    }
    return { node, movedTasks, entries: entries.length };
  } finally {
    await source.close();
  }
}

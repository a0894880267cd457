// Groups a split's placed tasks into queue entries per node, and marks a job of one entry as reduced by its worker.
import { toleratesFailures } from '../sdk/job-options.js';
import type { JobRecord } from '../store/job-record.js';
import type { BatchShape } from './batch-shape.js';
import { taskEntry, type QueueEntry, type Task } from './queue-entry.js';

/** One task in this many has its input measured (EntryBatcher: entries within maxEntryBytes). */
const INPUT_SAMPLE_EVERY = 16;

/** Largest input (JSON characters) a job of one entry carries to the worker that reduces it. */
export const WHOLE_MAX_INPUT_CHARS = 64 * 1024;

/**
 * A node's tasks wait here until they fill an entry of the shape's `batchSize`, which is then
 * sealed; at a checkpoint the split seals what is left and takes every sealed entry to enqueue.
 *
 * Tasks added with a key (a module's own `keyOf`) are grouped by key in their entry, keys in the
 * order they first came: a node's threads claim an entry's tasks in order, so a key's tasks run
 * one after another and its value is loaded into the node's cache (`ctx.cache`) once per entry at
 * most, however many keys the entry mixes and however small the cache (interleaved, a cache
 * smaller than the entry's keys misses on every task: docs/performance.md, Placement).
 *
 * An entry is also sealed once its tasks' inputs reach `maxEntryBytes` of JSON, estimated from
 * a sample (every INPUT_SAMPLE_EVERY-th task of the entry, the first included), so that a
 * split of tiny tasks does not serialise each one twice.
 */
export class EntryBatcher {
  readonly #job: JobRecord;
  readonly #term: number;
  readonly #traceparent: string | undefined;
  #shape: BatchShape;
  /** Node id → its tasks not yet in an entry. */
  readonly #pending = new Map<string, Task[]>();
  /** Node id → the keys of its pending tasks, position by position (only for tasks added with a key). */
  readonly #keys = new Map<string, Array<string | undefined>>();
  /** Node id → its sealed entries, not yet taken. */
  #ready = new Map<string, QueueEntry[]>();
  /** Node id → JSON characters of the sampled inputs of its pending tasks, and how many were sampled. */
  readonly #sampled = new Map<string, { chars: number; samples: number }>();
  readonly #maxEntryBytes: number;

  /**
   * `traceparent`: the split's span, carried by every entry of a traced job (TaskBatch.traceparent).
   * `maxEntryBytes`: most JSON bytes of task inputs in one entry (BatchShapeOptions.maxEntryBytes).
   */
  constructor(job: JobRecord, term: number, shape: BatchShape, traceparent?: string, maxEntryBytes = Infinity) {
    this.#job = job;
    this.#term = term;
    this.#traceparent = traceparent;
    this.#shape = shape;
    this.#maxEntryBytes = maxEntryBytes;
  }

  /** The shape entries are sealed with. */
  get shape(): BatchShape {
    return this.#shape;
  }

  /** Entries sealed from now on take this shape (the job type's task time was measured again). */
  reshape(shape: BatchShape): void {
    this.#shape = shape;
  }

  /** Adds a task placed on `node` (`key`: its `keyOf` key, to group by); the node's entry is sealed once it holds a batch. */
  add(node: string, task: Task, key?: string): void {
    let list = this.#pending.get(node);
    if (list === undefined) this.#pending.set(node, (list = []));
    list.push(task);
    if (key !== undefined || this.#keys.has(node)) {
      let keys = this.#keys.get(node);
      if (keys === undefined) this.#keys.set(node, (keys = new Array<string | undefined>(list.length - 1).fill(undefined)));
      keys.push(key);
    }
    if (list.length >= this.#shape.batchSize || this.#inputsFull(node, task, list.length)) this.#seal(node, list);
  }

  /** Whether the node's pending tasks (`count`, `task` the last) reach maxEntryBytes of input, by their sample. */
  #inputsFull(node: string, task: Task, count: number): boolean {
    if (this.#maxEntryBytes === Infinity) return false;
    let sample = this.#sampled.get(node);
    if ((count - 1) % INPUT_SAMPLE_EVERY === 0) {
      if (sample === undefined) this.#sampled.set(node, (sample = { chars: 0, samples: 0 }));
      sample.chars += (JSON.stringify(task[1]) ?? 'null').length + 16; // the index and the pair's brackets, about
      sample.samples++;
    }
    return sample !== undefined && (sample.chars / sample.samples) * count >= this.#maxEntryBytes;
  }

  /** Seals every node's tasks not yet in an entry and hands over all sealed entries, by node. */
  takeReady(): Map<string, QueueEntry[]> {
    for (const [node, tasks] of this.#pending) if (tasks.length > 0) this.#seal(node, tasks);
    const ready = this.#ready;
    this.#ready = new Map();
    return ready;
  }

  #seal(node: string, tasks: Task[]): void {
    let list = this.#ready.get(node);
    if (list === undefined) this.#ready.set(node, (list = []));
    const keys = this.#keys.get(node);
    list.push(taskEntry(this.#job, this.#term, keys === undefined ? tasks : groupByKey(tasks, keys), this.#shape.perCall, this.#traceparent));
    this.#pending.set(node, []);
    this.#keys.delete(node);
    this.#sampled.delete(node);
  }
}

/** The tasks grouped by key, keys in the order they first came, each key's tasks in their order (stable; tasks without a key form one group). */
export function groupByKey(tasks: readonly Task[], keys: ReadonlyArray<string | undefined>): Task[] {
  const groups = new Map<string | undefined, Task[]>();
  tasks.forEach((task, i) => {
    const key = keys[i];
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = []));
    group.push(task);
  });
  return groups.size === tasks.length ? [...tasks] : [...groups.values()].flat();
}

/**
 * A job whose every task went into one entry that runs as one thread call is reduced by the
 * worker that runs it, in that call, and ended by the write of its results (TaskBatch.whole):
 * one wake-up, read, thread call and acknowledged write fewer than a reduce by the scheduler. The
 * common case of a small job, and of the latency a user sees for it. `ready` holds the split's
 * only enqueue (its `total` tasks); its entry is replaced by the marked one. Not for a job that
 * tolerates failed tasks: its reduce needs their errors, which the scheduler's reduce reads.
 */
export function markWhole(job: JobRecord, ready: Map<string, QueueEntry[]>, total: number, maxJobResultBytes: number): void {
  if (toleratesFailures(job.options)) return;
  const [list, ...others] = [...ready.values()];
  const entry = list?.length === 1 && others.length === 0 ? list[0] : undefined;
  if (list === undefined || entry === undefined) return;
  const { taskCount, firstTask, perCall } = entry.data;
  if (perCall !== undefined || taskCount !== total || firstTask !== 0) return;
  if ((JSON.stringify(job.input) ?? '').length > WHOLE_MAX_INPUT_CHARS) return;
  const whole = { total, input: job.input, resultType: job.resultType, maxResultBytes: maxJobResultBytes, resultTtlSec: job.options.resultTtlSec };
  list[0] = { ...entry, data: { ...entry.data, whole } };
}

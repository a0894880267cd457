// Groups a split's placed tasks into queue entries per node, and marks a job of one entry as reduced by its worker.
import { toleratesFailures } from '../sdk/job-options.js';
import type { JobRecord } from '../store/job-record.js';
import type { BatchShape } from './batch-shape.js';
import { taskEntry, type QueueEntry, type Task } from './queue-entry.js';

/** Largest input (JSON characters) a job of one entry carries to the worker that reduces it. */
export const WHOLE_MAX_INPUT_CHARS = 64 * 1024;

/**
 * A node's tasks wait here until they fill an entry of the shape's `batchSize`, which is then
 * sealed; at a checkpoint the split seals what is left and takes every sealed entry to enqueue.
 */
export class EntryBatcher {
  readonly #job: JobRecord;
  readonly #term: number;
  readonly #traceparent: string | undefined;
  #shape: BatchShape;
  /** Node id → its tasks not yet in an entry. */
  readonly #pending = new Map<string, Task[]>();
  /** Node id → its sealed entries, not yet taken. */
  #ready = new Map<string, QueueEntry[]>();

  /** `traceparent`: the split's span, carried by every entry of a traced job (TaskBatch.traceparent). */
  constructor(job: JobRecord, term: number, shape: BatchShape, traceparent?: string) {
    this.#job = job;
    this.#term = term;
    this.#traceparent = traceparent;
    this.#shape = shape;
  }

  /** The shape entries are sealed with. */
  get shape(): BatchShape {
    return this.#shape;
  }

  /** Entries sealed from now on take this shape (the job type's task time was measured again). */
  reshape(shape: BatchShape): void {
    this.#shape = shape;
  }

  /** Adds a task placed on `node`; the node's entry is sealed once it holds a batch. */
  add(node: string, task: Task): void {
    let list = this.#pending.get(node);
    if (list === undefined) this.#pending.set(node, (list = []));
    list.push(task);
    if (list.length >= this.#shape.batchSize) this.#seal(node, list);
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
    list.push(taskEntry(this.#job, this.#term, tasks, this.#shape.perCall, this.#traceparent));
    this.#pending.set(node, []);
  }
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
  const { tasks, perCall } = entry.data;
  if (perCall !== undefined || tasks.length !== total || tasks[0]?.[0] !== 0) return;
  if ((JSON.stringify(job.input) ?? '').length > WHOLE_MAX_INPUT_CHARS) return;
  const whole = { total, input: job.input, resultType: job.resultType, maxResultBytes: maxJobResultBytes, resultTtlSec: job.options.resultTtlSec };
  list[0] = { ...entry, data: { ...entry.data, whole } };
}

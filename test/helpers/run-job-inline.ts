// Runs a job module in this process (parse, split, run each task, reduce): for tests without Redis or threads.
import { blobReader } from '../../src/blobs/open.js';
import { isDeepStrictEqual } from 'node:util';
import type { AnyJob, InputOf, ResultOf, TaskContext, TaskOf, TaskResultOf } from '../../src/sdk/index.js';

export interface RunJobInlineOptions {
  /**
   * Sends every task and task result through JSON, as Redis would, and fails if that changes
   * it (a Map, a typed array, `undefined`, a class instance...). @default true
   */
  readonly jsonRoundTrip?: boolean;
  /** Called with each task's index and reported fractions. */
  readonly onProgress?: (taskIndex: number, fraction: number) => void;
}

/** Parses `input` with the module's schema (throwing its ZodError) and collects the tasks of `split`. */
export async function splitInline<J extends AnyJob>(job: J, input: unknown): Promise<TaskOf<J>[]> {
  const parsed = job.input.parse(input) as InputOf<J>;
  const tasks: TaskOf<J>[] = [];
  for await (const task of job.split(parsed, { blobs: blobReader(undefined), log: () => {} }) as Iterable<TaskOf<J>> | AsyncIterable<TaskOf<J>>) tasks.push(task);
  return tasks;
}

/** Runs one task as a worker thread would, with a fresh signal and a dummy context. */
export async function runTaskInline<J extends AnyJob>(
  job: J,
  task: TaskOf<J>,
  taskIndex = 0,
  overrides: Partial<TaskContext> = {},
): Promise<TaskResultOf<J>> {
  const ctx: TaskContext = {
    signal: new AbortController().signal,
    jobId: 'inline',
    taskIndex,
    attempt: 0,
    progress() {},
    log() {},
    blobs: blobReader(undefined),
    cache: async (_key, load) => await load(),
    ...overrides,
  };
  return (await job.run(task, ctx)) as TaskResultOf<J>;
}

/** Validates the input, splits it, runs each task in order in this process and reduces. */
export async function runJobInline<J extends AnyJob>(
  job: J,
  input: unknown,
  options: RunJobInlineOptions = {},
): Promise<ResultOf<J>> {
  const roundTrip = options.jsonRoundTrip ?? true;
  const parsed = job.input.parse(input) as InputOf<J>;
  const results: TaskResultOf<J>[] = [];
  let index = 0;
  for await (const split of job.split(parsed, { blobs: blobReader(undefined), log: () => {} }) as Iterable<TaskOf<J>> | AsyncIterable<TaskOf<J>>) {
    const taskIndex = index++;
    const task = roundTrip ? throughJson(split, `job "${job.name}": task ${taskIndex}`) : split;
    const onProgress = options.onProgress;
    const result = await runTaskInline(job, task, taskIndex, {
      progress: onProgress ? (fraction: number) => onProgress(taskIndex, fraction) : () => {},
    });
    results.push(roundTrip ? throughJson(result, `job "${job.name}": result of task ${taskIndex}`) : result);
  }
  return (await job.reduce(results, parsed)) as ResultOf<J>;
}

function throughJson<T>(value: T, what: string): T {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${what} is not JSON-serialisable, got ${typeof value}`);
  const back: unknown = JSON.parse(text);
  if (!isDeepStrictEqual(back, value)) {
    throw new TypeError(`${what} changes when sent through JSON: ${text.slice(0, 200)}`);
  }
  return back as T;
}

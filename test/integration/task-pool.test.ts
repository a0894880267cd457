// A batch's tasks are shared by the pool's real threads: each runs once, and a stop or a crash costs only its own task.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskPool, type BatchRun } from '../../src/worker/task-pool.js';
import type { TaskOutcome } from '../../src/worker/task-runner.js';
import type { WhichThreadInput, WhichThreadTask } from '../fixtures/jobs/which-thread.js';

const MODULE = fileURLToPath(new URL('../fixtures/jobs/which-thread.ts', import.meta.url));

let pool: TaskPool;
const meetings = mkdtempSync(join(tmpdir(), 'ringpool-task-pool-'));
/** A fresh directory for the tasks of one run to meet in (WhichThreadTask.meet). */
const meetingPlace = (() => {
  let n = 0;
  return () => join(meetings, `meeting-${n++}`);
})();
beforeAll(async () => {
  pool = new TaskPool({ threads: 2, stopGraceMs: 200 });
  // Both threads up with the module loaded: on a loaded machine one thread may still be starting
  // while the other runs a whole batch, which is right, but not what these tests look at. Two
  // tasks that wait for each other on two threads return only once both threads run.
  const meet = meetingPlace();
  const { outcomes } = await pool.run(batch([{ ms: 0, meet }, { ms: 0, meet }], { chunk: 1, timeoutMs: 60_000 }));
  expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
}, 120_000);
afterAll(async () => {
  await pool?.close();
  rmSync(meetings, { recursive: true, force: true });
});

function batch(tasks: WhichThreadTask[], extra: Partial<BatchRun> = {}): BatchRun {
  return { modulePath: MODULE, jobId: 'pool-test', attempt: 0, tasks: tasks.map((t, i) => [i, t] as const), timeoutMs: 10_000, memoryMb: 512, ...extra };
}

const threadOf = (o: TaskOutcome) => (o.ok ? (JSON.parse(o.json) as { thread: number }).thread : undefined);

describe('a batch run on the task pool', () => {
  it('claimed one task at a time, long tasks spread over both threads, each run exactly once, outcomes in task order', async () => {
    // The first two tasks wait for each other: a thread that had claimed more than one task at a
    // time, or a second thread never given one, would leave them waiting (until their time limit).
    const meet = meetingPlace();
    const tasks = Array.from({ length: 8 }, (_, i) => ({ ms: 40, ...(i < 2 ? { meet } : {}) }));
    const { outcomes, micros } = await pool.run(batch(tasks, { chunk: 1 }));
    expect(outcomes.map((o) => [o.index, o.ok])).toEqual(Array.from({ length: 8 }, (_, i) => [i, true]));
    expect(new Set(outcomes.map(threadOf)).size).toBe(2);
    expect(micros).toBeGreaterThanOrEqual(8 * 40 * 1000 * 0.9);
  });

  it('without a chunk the whole batch is one call on one thread', async () => {
    const { outcomes } = await pool.run(batch(Array.from({ length: 4 }, () => ({ ms: 5 }))));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(new Set(outcomes.map(threadOf)).size).toBe(1);
  });

  it('loads a job module only ESM can hold (top-level await) as well as CommonJS ones, import.meta.url its own', async () => {
    const modulePath = fileURLToPath(new URL('../fixtures/jobs/top-level-await.ts', import.meta.url));
    const { outcomes } = await pool.run(batch([], { modulePath, tasks: [[0, 1], [1, 2]], chunk: 1 }));
    expect(outcomes.map((o) => (o.ok ? JSON.parse(o.json) : o.error))).toEqual([
      { value: 1001, file: 'top-level-await.ts' },
      { value: 1002, file: 'top-level-await.ts' },
    ]);
  });

  it('a task past its time limit is stopped alone: the other thread takes every remaining task', async () => {
    // The limit is far above the 30 ms tasks' own time, so that only the hanging task can reach
    // it, however long a loaded machine keeps a thread off the CPU.
    const tasks: WhichThreadTask[] = [{ ms: 0, mode: 'hang' }, ...Array.from({ length: 6 }, () => ({ ms: 30 }))];
    const { outcomes } = await pool.run(batch(tasks, { chunk: 1, timeoutMs: 1_500 }));
    expect(outcomes[0]).toMatchObject({ index: 0, ok: false, retryable: true, error: { code: 'TIMEOUT' } });
    expect((outcomes[0] as Extract<TaskOutcome, { ok: false }>).error.message).toMatch(/task 0 exceeded its time limit of 1500 ms/);
    expect(outcomes.slice(1).map((o) => o.ok)).toEqual(Array(6).fill(true));
  });

  it('tasks given as the JSON a queue entry carried go to the threads as they are; a task that times out among them is named by its own index', async () => {
    const pairs = [[10, { ms: 0, mode: 'hang' }], ...Array.from({ length: 4 }, (_, k) => [20 + k, { ms: 10 }] as const)] as const;
    const { outcomes, results } = await pool.run(batch([], { tasks: { json: JSON.stringify(pairs), count: pairs.length }, chunk: 1, timeoutMs: 1_500 }));
    expect(results.count).toBe(4);
    expect(outcomes.map((o) => [o.index, o.ok])).toEqual([[10, false], [20, true], [21, true], [22, true], [23, true]]);
    expect(outcomes[0]).toMatchObject({ retryable: true, error: { code: 'TIMEOUT', message: expect.stringMatching(/task 10 exceeded its time limit/) } });
  });

  it('a thread that runs out of memory fails its own task OUT_OF_MEMORY; the rest still run', async () => {
    const tasks: WhichThreadTask[] = [{ ms: 0, mode: 'allocate' }, ...Array.from({ length: 5 }, () => ({ ms: 20 }))];
    const { outcomes } = await pool.run(batch(tasks, { chunk: 1, memoryMb: 64 }));
    expect(outcomes[0]).toMatchObject({ index: 0, ok: false, retryable: true, error: { code: 'OUT_OF_MEMORY' } });
    expect(outcomes.slice(1).map((o) => o.ok)).toEqual(Array(5).fill(true));
  });

  it('a cancel stops every thread: what had finished stays, the rest is CANCELLED and retryable', async () => {
    await pool.run(batch([{ ms: 1 }, { ms: 1 }], { chunk: 1 })); // both threads up, module loaded
    const cancel = new AbortController();
    // Two quick tasks, then tasks that would spin for ten minutes unless stopped.
    const meet = meetingPlace();
    const tasks: WhichThreadTask[] = [{ ms: 0 }, { ms: 0 }, ...Array.from({ length: 8 }, () => ({ ms: 600_000, meet }))];
    const running = pool.run(batch(tasks, { chunk: 1, cancel: cancel.signal, timeoutMs: 600_000 }));
    // Cancel once two long tasks run (one on each thread): tasks are claimed in order, one at a
    // time per thread, so by then both quick ones have finished, however slowly.
    await expect.poll(() => (existsSync(meet) ? readdirSync(meet).length : 0), { timeout: 60_000 }).toBe(2);
    cancel.abort();
    const { outcomes } = await running;
    expect(outcomes.slice(0, 2).map((o) => o.ok)).toEqual([true, true]);
    for (const o of outcomes.slice(2)) expect(o).toMatchObject({ ok: false, retryable: true, error: { code: 'CANCELLED' } });
  });
});

describe('a run that holds its whole job reduces it in the same thread call (TaskBatch.whole)', () => {
  const whole = (tasks: WhichThreadTask[], input: Partial<WhichThreadInput> = {}, extra: Partial<BatchRun> = {}): BatchRun =>
    batch(tasks, { reduce: { total: tasks.length, input: { tasks, ...input }, resultType: 'json', maxResultBytes: 1_000_000 }, ...extra });
  const three: WhichThreadTask[] = [{ ms: 1 }, { ms: 1 }, { ms: 1 }];

  it('on the thread that ran its tasks, from the results as they are stored', async () => {
    const { outcomes, reduced } = await pool.run(whole(three));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const thread = threadOf(outcomes[0] as TaskOutcome);
    expect(reduced).toEqual({ json: JSON.stringify([thread, thread, thread]) });
  });

  it('not when a task failed, when the run is shared by several calls, or when the run is not every task', async () => {
    expect((await pool.run(whole([{ ms: 0 }, { ms: 0, mode: 'hang' }], {}, { timeoutMs: 300 }))).reduced).toBeUndefined();
    expect((await pool.run(whole([...three, ...three], {}, { chunk: 1 }))).reduced).toBeUndefined();
    const partial = whole(three);
    expect((await pool.run({ ...partial, reduce: { ...partial.reduce!, total: 4 } })).reduced).toBeUndefined();
  });

  it('a reduce that throws, or whose result is over the limit, is the outcome, with what to fix', async () => {
    const thrown = await pool.run(whole(three, { reduce: 'throw' }));
    expect(thrown.outcomes.every((o) => o.ok)).toBe(true);
    expect(thrown.reduced).toMatchObject({ error: { code: 'TASK_FAILED', message: expect.stringMatching(/reduce broke on purpose/) } });
    const big = whole(three);
    const tooLarge = await pool.run({ ...big, reduce: { ...big.reduce!, maxResultBytes: 4 } });
    expect(tooLarge.reduced).toMatchObject({ error: { code: 'RESULT_TOO_LARGE', message: expect.stringMatching(/maxJobResultBytes/) } });
  });

  it('a reduce is not held to the task time limit', async () => {
    // The 1 ms tasks are far within the limit even on a loaded machine; the reduce is well past it.
    const { reduced } = await pool.run(whole(three, { reduceMs: 3_000 }, { timeoutMs: 1_000 }));
    expect(reduced).toMatchObject({ json: expect.any(String) });
  });

  it('a thread that dies in the reduce: its tasks run again without it, their outcomes intact', async () => {
    const { outcomes, reduced } = await pool.run(whole(three, { reduce: 'allocate' }, { memoryMb: 64 }));
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    expect(reduced).toBeUndefined();
  });
});

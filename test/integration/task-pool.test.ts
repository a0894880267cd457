// A batch's tasks are shared by the pool's real threads: each runs once, and a stop or a crash costs only its own task.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskPool, type BatchRun } from '../../src/worker/task-pool.js';
import type { TaskOutcome } from '../../src/worker/task-runner.js';
import type { WhichThreadTask } from '../fixtures/jobs/which-thread.js';

const MODULE = fileURLToPath(new URL('../fixtures/jobs/which-thread.ts', import.meta.url));

let pool: TaskPool;
beforeAll(() => {
  pool = new TaskPool({ threads: 2, stopGraceMs: 200 });
});
afterAll(async () => {
  await pool?.close();
});

function batch(tasks: WhichThreadTask[], extra: Partial<BatchRun> = {}): BatchRun {
  return { modulePath: MODULE, jobId: 'pool-test', attempt: 0, tasks: tasks.map((t, i) => [i, t] as const), timeoutMs: 10_000, memoryMb: 512, ...extra };
}

const threadOf = (o: TaskOutcome) => (o.ok ? (JSON.parse(o.json) as { thread: number }).thread : undefined);

describe('a batch run on the task pool', () => {
  it('claimed one task at a time, long tasks spread over both threads, each run exactly once, outcomes in task order', async () => {
    const { outcomes, micros } = await pool.run(batch(Array.from({ length: 8 }, () => ({ ms: 40 })), { chunk: 1 }));
    expect(outcomes.map((o) => [o.index, o.ok])).toEqual(Array.from({ length: 8 }, (_, i) => [i, true]));
    expect(new Set(outcomes.map(threadOf)).size).toBe(2);
    expect(micros).toBeGreaterThanOrEqual(8 * 40 * 1000 * 0.9);
  });

  it('without a chunk the whole batch is one call on one thread', async () => {
    const { outcomes } = await pool.run(batch(Array.from({ length: 4 }, () => ({ ms: 5 }))));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(new Set(outcomes.map(threadOf)).size).toBe(1);
  });

  it('a task past its time limit is stopped alone: the other thread takes every remaining task', async () => {
    const tasks: WhichThreadTask[] = [{ ms: 0, mode: 'hang' }, ...Array.from({ length: 6 }, () => ({ ms: 30 }))];
    const { outcomes } = await pool.run(batch(tasks, { chunk: 1, timeoutMs: 300 }));
    expect(outcomes[0]).toMatchObject({ index: 0, ok: false, retryable: true, error: { code: 'TIMEOUT' } });
    expect((outcomes[0] as Extract<TaskOutcome, { ok: false }>).error.message).toMatch(/task 0 exceeded its time limit of 300 ms/);
    expect(outcomes.slice(1).map((o) => o.ok)).toEqual(Array(6).fill(true));
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
    const tasks: WhichThreadTask[] = [{ ms: 0 }, { ms: 0 }, ...Array.from({ length: 8 }, () => ({ ms: 600_000 }))];
    const running = pool.run(batch(tasks, { chunk: 1, cancel: cancel.signal }));
    setTimeout(() => cancel.abort(), 1_000);
    const { outcomes } = await running;
    expect(outcomes.slice(0, 2).map((o) => o.ok)).toEqual([true, true]);
    for (const o of outcomes.slice(2)) expect(o).toMatchObject({ ok: false, retryable: true, error: { code: 'CANCELLED' } });
  });
});

// A node that is alive but slow (the bench-only slow-down knob): its waiting tasks are stolen, its last ones get backup copies, each task's result is stored once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_JOBS } from '../../bench/harness.js';
import { FIXTURE_JOBS, startTestNode, type TestNode } from '../helpers/cluster.js';
import { uniquePrefix } from '../helpers/prefix.js';

let healthy: TestNode;
let slow: TestNode;

beforeAll(async () => {
  const prefix = uniquePrefix('stragglers');
  const shared = { prefix, stealAfterMs: 300, jobsDirs: [FIXTURE_JOBS, BENCH_JOBS] };
  healthy = await startTestNode({ ...shared, workerId: 'w-fast' }, 'fast');
  // The knob is read once, as a worker node starts: only this node's threads are 4× slower.
  process.env.RINGPOOL_BENCH_SLOWDOWN = '4';
  try {
    slow = await startTestNode({ ...shared, workerId: 'w-slow' }, 'slow', { api: false, scheduler: false, worker: true });
  } finally {
    delete process.env.RINGPOOL_BENCH_SLOWDOWN;
  }
  for (let i = 0; ; i++) {
    const { body } = await healthy.api('/v1/cluster');
    if (body.workers.filter((w: { state: string }) => w.state === 'alive').length === 2) break;
    if (i > 400) throw new Error('the two worker nodes did not both register');
    await new Promise((r) => setTimeout(r, 50));
  }
}, 120_000);

afterAll(async () => {
  await slow?.close();
  await healthy?.close();
});

describe('stragglers', () => {
  it('steals the slow node\'s waiting tasks and runs backup copies of its last ones; every task stored exactly once', async () => {
    const tasks = 24;
    const { body } = await healthy.api('/v1/jobs', { body: { job: 'spin', input: { tasks, ms: 100 }, options: { batchSize: 1 } } });
    const job = await healthy.waitForJob(body.id, 60_000);
    expect(job.status).toBe('completed');
    // One result per task: the reduce saw exactly `tasks` results, and nothing beyond was stored.
    expect(job.progress).toMatchObject({ total: tasks, done: tasks });
    expect((await healthy.api(`/v1/jobs/${body.id}/result`)).body.result).toBe(tasks);
    expect(job.stragglers.stolenTasks).toBeGreaterThan(0);
    expect(job.stragglers.speculatedTasks).toBeGreaterThan(0);
    // The healthy node did more than its ring share, because it took the slow node's work.
    expect(job.tasksPerNode['w-fast']).toBeGreaterThan(job.tasksPerNode['w-slow'] ?? 0);
    const metrics = await (await fetch(`${healthy.url}/metrics`)).text();
    expect(metrics).toMatch(/ringpool_tasks_stolen_total [1-9]/);
  }, 90_000);

  it('keeps a node within the load bound under Zipf keys (bounded placement live in the scheduler)', async () => {
    const { body } = await healthy.api('/v1/jobs', { body: { job: 'zipf-keys', input: { tasks: 2_000, keys: 200, s: 1.1 } } });
    const job = await healthy.waitForJob(body.id, 60_000);
    expect(job.status).toBe('completed');
    const counts = Object.values(job.tasksPerNode as Record<string, number>);
    const mean = counts.reduce((a, b) => a + b, 0) / 2;
    expect(counts).toHaveLength(2);
    expect(Math.max(...counts) / mean).toBeLessThanOrEqual(1.3);
  }, 60_000);
});

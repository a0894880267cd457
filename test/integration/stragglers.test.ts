// A node that is alive but slow (the bench-only slow-down knob): its waiting tasks are stolen, its last ones get backup copies, each task's result is stored once, the losing copy is stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_JOBS } from '../../bench/harness.js';
import { FIXTURE_JOBS, startTestNode, untilWorkersPlaced, type TestNode } from '../helpers/cluster.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { until } from '../helpers/poll.js';

/** How much slower the slow node's threads are: each 300 ms task is followed by 2.1 s asleep. */
const SLOWDOWN = '8';

/** A counter's value in a node's /metrics text (0 when absent). */
async function counter(node: TestNode, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

describe('stragglers', () => {
  let healthy: TestNode;
  let slow: TestNode;

  beforeAll(async () => {
    const prefix = uniquePrefix('stragglers');
    const shared = { prefix, stealAfterMs: 300, jobsDirs: [FIXTURE_JOBS, BENCH_JOBS], threads: 2 };
    healthy = await startTestNode({ ...shared, workerId: 'w-fast' }, 'fast');
    // The knob is read once, as a worker node starts: only this node's threads are slow.
    process.env.RINGPOOL_BENCH_SLOWDOWN = SLOWDOWN;
    try {
      slow = await startTestNode({ ...shared, workerId: 'w-slow' }, 'slow', { api: false, scheduler: false, worker: true });
    } finally {
      delete process.env.RINGPOOL_BENCH_SLOWDOWN;
    }
    await untilWorkersPlaced(healthy, 2);
  }, 120_000);

  afterAll(async () => {
    await slow?.close();
    await healthy?.close();
  });

  it('steals a task waiting on the slow node and runs a backup copy of a running one; every task stored once, the loser stopped', async () => {
    // 64 one-task entries, placed at once (they fit the job's first window): bounded loads give the
    // slow node at least 23 of them (cap ceil(1.25 × 65 / 2) = 41 each), 4 taken ahead by its 2
    // threads and the rest waiting. The fast node drains its own (≤ 41 × 300 ms over 2 threads,
    // about 6 s) while the slow one finishes at most 4 (2.4 s each), so entries still wait there
    // when the fast node has free threads: stolen. The slow node is measured 8× slower from its
    // first 2 results on (2.4 s, and the leader's next read of the job, ≤ 1 s later), so once
    // nothing waits anywhere, the entries it holds get copies on the fast node, where they run in
    // 300 ms; those it had taken but not started lose for sure, and are stopped.
    const tasks = 64;
    const { body } = await healthy.api('/v1/jobs', { body: { job: 'spin', input: { tasks, ms: 300 }, options: { batchSize: 1 } } });
    const job = await healthy.waitForJob(body.id, 90_000);
    expect(job.status).toBe('completed');
    // One result per task: the reduce saw exactly `tasks` results, and nothing beyond was stored.
    expect(job.progress).toMatchObject({ total: tasks, done: tasks });
    expect((await healthy.api(`/v1/jobs/${body.id}/result`)).body.result).toBe(tasks);
    expect(job.stragglers.stolenTasks).toBeGreaterThan(0);
    expect(job.stragglers.speculatedTasks).toBeGreaterThan(0);
    // A losing copy stopped (an original told by its copy's announcement, or a copy that saw its
    // original store first). The job may end with the winner's write, before the loser has stopped
    // and counted its time: waited for, up to the slow node's 2.4 s task and a check.
    const wastedMs = await until('a losing copy stopped and counted', 30_000, async () => {
      const { stragglers } = (await healthy.api(`/v1/jobs/${body.id}`)).body;
      return stragglers.wastedMs > 0 ? (stragglers.wastedMs as number) : undefined;
    }, 50);
    expect(wastedMs).toBeGreaterThan(0);
    // Losers are stopped before they store; one that finished first anyway is dropped by first-write-wins.
    expect(job.progress.duplicates).toBeLessThanOrEqual(job.stragglers.speculatedTasks);
    // The fast node did more than its ring share, because it took the slow node's work.
    expect(job.tasksPerNode['w-fast']).toBeGreaterThan(job.tasksPerNode['w-slow'] ?? 0);
    // Counted in /metrics too: stolen and copied by the leader (the fast node's process), wasted where a loser ran.
    expect(await counter(healthy, 'ringpool_tasks_stolen_total')).toBeGreaterThanOrEqual(job.stragglers.stolenTasks);
    expect(await counter(healthy, 'ringpool_tasks_speculated_total')).toBeGreaterThanOrEqual(job.stragglers.speculatedTasks);
    const wasted = (await counter(healthy, 'ringpool_straggler_wasted_ms_total')) + (await counter(slow, 'ringpool_straggler_wasted_ms_total'));
    expect(wasted).toBeGreaterThanOrEqual(wastedMs);
  }, 120_000);
});

describe('bounded placement in the scheduler', () => {
  let a: TestNode;
  let b: TestNode;

  beforeAll(async () => {
    // Stealing off: this counts where the leader placed tasks (stored per node), and a steal moves whole entries elsewhere.
    const shared = { prefix: uniquePrefix('bounded'), stealAfterMs: 0, jobsDirs: [FIXTURE_JOBS, BENCH_JOBS], threads: 2 };
    a = await startTestNode({ ...shared, workerId: 'w-a' }, 'a');
    b = await startTestNode({ ...shared, workerId: 'w-b' }, 'b', { api: false, scheduler: false, worker: true });
    await untilWorkersPlaced(a, 2);
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('keeps a node within the load bound under Zipf keys', async () => {
    const { body } = await a.api('/v1/jobs', { body: { job: 'zipf-keys', input: { tasks: 2_000, keys: 200, s: 1.1 } } });
    const job = await a.waitForJob(body.id, 60_000);
    expect(job.status).toBe('completed');
    const counts = Object.values(job.tasksPerNode as Record<string, number>);
    const mean = counts.reduce((x, y) => x + y, 0) / 2;
    expect(counts).toHaveLength(2);
    expect(Math.max(...counts) / mean).toBeLessThanOrEqual(1.3);
  }, 60_000);
});

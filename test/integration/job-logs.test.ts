// ctx.log: what a job's split, tasks and reduce write reaches GET /v1/jobs/:id/logs and `ringpool logs`, bounded, and expires with the job.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { MAX_LOG_LINES_PER_CALL } from '../../src/worker/task-runner.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({}, 'logs');
});
afterAll(async () => {
  await node?.close();
});

async function run(input: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<string> {
  const res = await node.api('/v1/jobs', { body: { job: 'chatty', input, options } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  await node.waitForJob(res.body.id);
  return res.body.id as string;
}

describe('job logs (ctx.log)', () => {
  it("keeps each task's lines with its task, attempt and node, formatted as console.log does, and expires them with the job", async () => {
    const id = await run({ tasks: 4, lines: 2 });
    const { status, body } = await node.api(`/v1/jobs/${id}/logs`);
    expect(status).toBe(200);
    expect(body.id).toBe(id);
    expect(body.lines).toHaveLength(8);
    expect(body.lines.map((l: { message: string }) => l.message).sort()).toEqual(
      [0, 1, 2, 3].flatMap((i) => [0, 1].map((k) => `task ${i} line ${k} { i: ${i} }`)).sort(),
    );
    for (const line of body.lines) {
      expect(line).toMatchObject({ attempt: 0, node: 'w-logs' });
      expect(line.message).toContain(`task ${line.task} `);
      expect(Math.abs(line.at - Date.now())).toBeLessThan(600_000);
    }
    const one = await node.api(`/v1/jobs/${id}/logs?task=2`);
    expect(one.body.lines.map((l: { message: string }) => l.message)).toEqual(['task 2 line 0 { i: 2 }', 'task 2 line 1 { i: 2 }']);
    expect((await node.api(`/v1/jobs/${id}/logs?limit=3`)).body.lines).toHaveLength(3);
    // The log lives as long as the job's record (resultTtlSec), not for ever.
    const ttl = await node.redis.ttl(node.store.keys.jobLogs(id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(86_400);
  });

  it("keeps a failing task's lines, and bounds a call's lines, saying how many it dropped", async () => {
    const failed = await run({ tasks: 3, lines: 1, failAt: 1 });
    expect((await node.api(`/v1/jobs/${failed}`)).body.status).toBe('failed');
    expect((await node.api(`/v1/jobs/${failed}/logs?task=1`)).body.lines.map((l: { message: string }) => l.message)).toEqual(['task 1 line 0 { i: 1 }']);

    const loud = await run({ tasks: 1, lines: MAX_LOG_LINES_PER_CALL + 50 });
    const { lines } = (await node.api(`/v1/jobs/${loud}/logs?limit=1000`)).body;
    expect(lines).toHaveLength(MAX_LOG_LINES_PER_CALL + 1);
    expect(lines.at(-1).message).toMatch(/^\(50 more log lines of this thread call dropped/);
  });

  it("keeps the split's and the reduce's lines, no task's, around the tasks' (reduced on the worker or on the scheduler)", async () => {
    type Line = { task: number | null; phase: string; attempt: number; node: string; message: string };
    // A one-task job: the worker's thread reduces it in the same call. One task an entry: the scheduler's reduce thread.
    for (const [tasks, options, reducer] of [[1, {}, 'worker'], [3, { batchSize: 1 }, 'scheduler']] as const) {
      const id = await run({ tasks, lines: 1, splitSays: 'hello', reduceSays: 'bye' }, options);
      expect((await node.api(`/v1/jobs/${id}`)).body.status).toBe('completed');
      const lines = (await node.api(`/v1/jobs/${id}/logs`)).body.lines as Line[];
      expect(lines.map((l) => l.phase), reducer).toEqual(['split', ...Array(tasks).fill('task'), 'reduce']);
      expect(lines[0]).toMatchObject({ task: null, attempt: 0, message: `split: hello, ${tasks} tasks` });
      expect(lines[0]?.node).not.toBe('w-logs'); // the leader split it
      expect(lines.at(-1)).toMatchObject({ task: null, message: `reduce: bye of ${tasks} results` });
      if (reducer === 'worker') expect(lines.at(-1)?.node).toBe('w-logs');
      else expect(lines.at(-1)?.node).toBe(lines[0]?.node);
      expect(lines.slice(1, -1).map((l) => l.task).sort()).toEqual(Array.from({ length: tasks }, (_, i) => i));
      // A task's lines are that task's only.
      expect(((await node.api(`/v1/jobs/${id}/logs?task=0`)).body.lines as Line[]).map((l) => l.phase)).toEqual(['task']);
    }
  });

  it('keeps what a failing split wrote before it failed', async () => {
    const id = await run({ tasks: 3, lines: 1, splitSays: 'about to fail', splitFails: true });
    const job = (await node.api(`/v1/jobs/${id}`)).body;
    expect(job.status).toBe('failed');
    const { lines } = (await node.api(`/v1/jobs/${id}/logs`)).body;
    expect(lines).toMatchObject([{ phase: 'split', task: null, message: 'split: about to fail, 3 tasks' }]);
  });

  it('refuses a bad query with what to fix, and an unknown job with 404', async () => {
    const id = await run({ tasks: 1, lines: 1 });
    const bad = await node.api(`/v1/jobs/${id}/logs?limit=0`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BAD_INPUT');
    expect(bad.body.error.message).toMatch(/limit/);
    expect((await node.api(`/v1/jobs/${id}/logs?tail=3`)).status).toBe(400);
    expect((await node.api('/v1/jobs/zzzzzzzz-0000000000/logs')).status).toBe(404);
  });

  it('`ringpool logs <id>` prints the lines, one a line', async () => {
    const id = await run({ tasks: 2, lines: 1 });
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      expect(await main(['logs', id, '--url', node.url, '--task', '1'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z {2}task 1 {2}w-logs {2}task 1 line 0 \{ i: 1 \}$/);
    const said = await run({ tasks: 1, lines: 0, splitSays: 'hi' });
    printed.length = 0;
    const again = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      expect(await main(['logs', said, '--url', node.url])).toBe(0);
    } finally {
      again.mockRestore();
    }
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(/^\S+Z {2}split {2}\S+ {2}split: hi, 1 tasks$/);
  });
});

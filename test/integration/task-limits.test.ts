// Hard per-task timeouts and per-thread memory limits really stop the work, and the node keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({}, 'limits');
});
afterAll(async () => {
  await node?.close();
});

async function run(job: string, input: unknown, options: unknown) {
  const created = await node.api('/v1/jobs', { body: { job, input, options } });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  return await node.waitForJob(created.body.id, 60_000);
}

describe('task limits', () => {
  it('a task that loops forever and ignores its signal is stopped at its timeout: TIMEOUT', async () => {
    // Stopped at all: the task never ends by itself, so the job's end is the stop (waitForJob
    // fails the test if it never comes), and the error is the watchdog's, at the task's limit.
    const job = await run('hog', { mode: 'hang' }, { taskTimeoutMs: 300, retries: 0 });
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('TIMEOUT');
    expect(job.error.message).toMatch(/time limit of 300 ms/);
  });

  it('a cooperative task is stopped at its timeout too', async () => {
    const job = await run('spin', { tasks: 1, ms: 60_000 }, { taskTimeoutMs: 300, retries: 0 });
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('TIMEOUT');
  });

  it('a task that hangs only on its first attempt succeeds on retry', async () => {
    // The limit must stop the hanging first attempt, never the second, which returns at once but
    // may start in a fresh thread on a loaded machine: a limit well above that, not 300 ms.
    const job = await run('hog', { mode: 'hang-once', tasks: 2 }, { taskTimeoutMs: 3_000, retries: 1 });
    expect(job.status).toBe('completed');
    expect((await node.api(`/v1/jobs/${job.id}/result`)).body.result).toEqual(['finished on a later attempt', 'finished on a later attempt']);
  });

  it('a task that allocates without bound fails OUT_OF_MEMORY and the node goes on serving', async () => {
    const job = await run('hog', { mode: 'allocate' }, { taskMemoryMb: 64, retries: 0 });
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('OUT_OF_MEMORY');
    expect(job.error.message).toMatch(/memory limit of 64 MB/);
    const after = await run('primes', { from: 0, to: 100_000 }, {});
    expect(after.status).toBe('completed');
    expect((await node.api(`/v1/jobs/${after.id}/result`)).body.result).toBe(9592);
  });
});

describe('result size limit', () => {
  it('a task whose result is over maxTaskResultBytes fails RESULT_TOO_LARGE, not retried; smaller ones pass', async () => {
    const small = await startTestNode({ maxTaskResultBytes: 1024, maxJobResultBytes: 2048 }, 'result-limit');
    try {
      const over = await small.api('/v1/jobs', { body: { job: 'big-result', input: { bytes: 5000 }, options: { retries: 3 } } });
      const failed = await small.waitForJob(over.body.id);
      expect(failed.status).toBe('failed');
      expect(failed.error.code).toBe('RESULT_TOO_LARGE');
      expect(failed.error.message).toMatch(/5002 bytes of JSON, more than the limit of 1024/);
      const under = await small.api('/v1/jobs', { body: { job: 'big-result', input: { bytes: 1000, tasks: 3 } } });
      expect((await small.waitForJob(under.body.id)).status).toBe('completed');
      expect((await small.api(`/v1/jobs/${under.body.id}/result`)).body.result).toEqual([1000, 1000, 1000]);
      // Each task's result is within its limit, but together over the job's: the job fails.
      const joined = await small.api('/v1/jobs', { body: { job: 'big-result', input: { bytes: 1000, tasks: 3, echo: true } } });
      const tooBig = await small.waitForJob(joined.body.id);
      expect(tooBig.status).toBe('failed');
      expect(tooBig.error.code).toBe('RESULT_TOO_LARGE');
      expect(tooBig.error.message).toMatch(/maxJobResultBytes/);
    } finally {
      await small.close();
    }
  });
});

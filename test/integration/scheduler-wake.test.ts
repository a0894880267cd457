// The scheduler's wake loop against a real Redis: a blocking pop of the wake list, ended by a notice or by close().
import { afterAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';

const nodes: TestNode[] = [];
afterAll(async () => {
  for (const node of nodes) await node.close();
});

describe("the scheduler's wake loop", () => {
  it('close() ends its blocking pop by closing the connection it blocks on, not at the pop\'s timeout', async () => {
    const node = await startTestNode({}, 'wake-close');
    nodes.push(node);
    const job = await node.api('/v1/jobs', { body: { job: 'which-thread', input: { tasks: [{ ms: 1 }, { ms: 1 }] } } });
    expect(job.status, JSON.stringify(job.body)).toBe(202);
    // The leader took the job's notice off the wake list: its loop runs and blocks on the list again.
    expect((await node.waitForJob(job.body.id)).status).toBe('completed');
    const wake = node.connections.get('scheduler-wake');
    expect(wake?.status).toBe('ready');
    await node.scheduler?.close();
    // Before, the connection stayed open and the pop ran to its timeout (close waited for it).
    await until('the wake connection closed', 10_000, () => wake?.status === 'end');
  }, 60_000);
});

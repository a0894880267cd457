// A split waiting for room in its job's window (docs/architecture.md §5) against a real Redis and real threads: woken by its node's results, not by a poll.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { monitorRedis } from '../helpers/redis-monitor.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({}, 'capacity');
});
afterAll(async () => {
  await node?.close();
});

describe("the split's capacity wait", () => {
  it('with every task on the scheduler\'s own node, the split reads its job again when results are stored: a few reads between two results\' writes, not one every 10 ms', async () => {
    // Tasks of 300 ms on 2 threads: once measured, the job's window is 4 tasks in entries of 1,
    // so the split waits for room after every entry (fair-share.ts): a task each, 300 ms on a thread.
    const tasks = (n: number) => ({ job: 'which-thread', input: { tasks: Array.from({ length: n }, () => ({ ms: 300 })) } });
    const warm = await node.api('/v1/jobs?wait=30000', { body: tasks(4) });
    expect(warm.body.status).toBe('completed'); // the job type's task time is measured now
    const monitor = await monitorRedis(inject('redisUrl'));
    const { sent } = monitor;
    try {
      const done = await node.api('/v1/jobs?wait=30000', { body: tasks(16) });
      expect(done.body.status).toBe('completed');
      expect(done.body.result).toHaveLength(16);
      const key = `${node.prefix}:job:${done.body.id as string}`;
      await monitor.settle(node.redis);
      // From the first results' write to the last (store-results.lua adds to the job's `done`), the reads of the job by any client.
      let writes = 0;
      let reads = 0;
      let readsBeforeLastWrite = 0;
      for (const s of sent) {
        if (s.source === 'lua' && s.command.startsWith(`HINCRBY ${key} done `)) {
          writes++;
          readsBeforeLastWrite = reads;
        } else if (writes > 0 && s.source !== 'lua' && s.command.toLowerCase() === `hgetall ${key}`) reads++;
      }
      expect(writes).toBeGreaterThanOrEqual(8);
      // Per write: the wait's look after it and the checkpoint's read (and the leader's loads, now
      // and then). Polling every 10 ms, 6 and more (the tasks run 300 ms; two threads write in turn).
      expect(readsBeforeLastWrite / (writes - 1), `${readsBeforeLastWrite} reads of the job between ${writes} results' writes`).toBeLessThanOrEqual(3.5);
    } finally {
      monitor.stop();
    }
  }, 120_000);
});

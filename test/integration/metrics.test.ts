// GET /metrics is Prometheus text and its counters move when tasks complete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({}, 'metrics');
});
afterAll(async () => {
  await node?.close();
});

/** `name{labels} value` lines of the exposition format, summed over label sets. */
function sample(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    // Values as Go's ParseFloat reads them (the exposition format's rule): NaN in any case; prom-client
    // writes `Nan` for the event-loop lag before its first 1-s sample.
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|\+Inf|-Inf)$/.exec(line);
    expect(m, `not Prometheus text: ${line}`).not.toBeNull();
    if (m?.[1] === name) total += Number(m[3]);
  }
  return total;
}

describe('/metrics', () => {
  it('parses as Prometheus text and counts completed tasks, batches and HTTP requests', async () => {
    const before = await node.api('/metrics');
    expect(before.status).toBe(200);
    expect(before.headers.get('content-type')).toMatch(/text\/plain/);
    const completedBefore = sample(before.body as string, 'ringpool_tasks_completed_total');
    const created = await node.api('/v1/jobs', { body: { job: 'primes', input: { from: 0, to: 300_000 } } });
    const job = await node.waitForJob(created.body.id);
    expect(job.status).toBe('completed');
    const after = (await node.api('/metrics')).body as string;
    expect(sample(after, 'ringpool_tasks_completed_total') - completedBefore).toBe(job.progress.total);
    expect(sample(after, 'ringpool_task_batch_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(after, 'ringpool_http_requests_total')).toBeGreaterThan(0);
    expect(after).toMatch(/ringpool_queue_depth\{node="w-metrics"\}/);
    expect(sample(after, 'ringpool_raft_is_leader')).toBe(1);
  });
});

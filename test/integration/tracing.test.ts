// One trace per job (src/observability/tracing.ts): the spans of a job in one process, with every role, in the SDK's in-memory exporter.
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../src/observability/tracing.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let node: TestNode;
beforeAll(async () => {
  tracing = await startTracing({ exporter });
  node = await startTestNode({}, 'tracing');
});
afterAll(async () => {
  await node?.close();
  await tracing?.stop();
});

/** Submits a `which-thread` job of `count` 1 ms tasks and waits for its end. */
async function run(count: number, options: object, headers: Record<string, string> = {}) {
  const created = await node.api('/v1/jobs', { body: { job: 'which-thread', input: { tasks: Array.from({ length: count }, () => ({ ms: 1 })) }, options }, headers });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  const job = await node.waitForJob(created.body.id);
  expect(job.status).toBe('completed');
  return (await node.api(`/v1/jobs/${job.id}`)).body;
}

/** The trace's spans once `done` holds for them (the last spans end just after the job's end is written). */
async function spansOf(traceId: string, done: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (done(spans) || Date.now() > deadline) return spans;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const only = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = named(spans, name);
  expect(found.map((s) => s.name), `one ${name} span`).toEqual([name]);
  return found[0] as ReadableSpan;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

describe('traces of a job, in one process', () => {
  it('continue an incoming traceparent: POST /v1/jobs → job → split → a batch per entry (queue.wait, run → thread, store results); reduce under the job', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const job = await run(4, { batchSize: 1 }, { traceparent: `00-${traceId}-${callerSpan}-01` });
    expect(job.traceId).toBe(traceId);
    const spans = await spansOf(traceId, (s) => named(s, 'reduce').length > 0 && named(s, 'store results').length >= 4);

    const http = only(spans, 'POST /v1/jobs');
    expect(parentOf(http)).toBe(callerSpan);
    expect(http.attributes['http.response.status_code']).toBe(202);
    const root = only(spans, 'job which-thread');
    expect(parentOf(root)).toBe(idOf(http));
    expect(root.attributes['ringpool.job.id']).toBe(job.id);
    const split = only(spans, 'split');
    expect(parentOf(split)).toBe(idOf(root));

    const batches = named(spans, 'batch');
    expect(batches).toHaveLength(4);
    for (const batch of batches) {
      expect(parentOf(batch)).toBe(idOf(split));
      const children = spans.filter((s) => parentOf(s) === idOf(batch)).map((s) => s.name);
      expect(children.sort()).toEqual(['queue.wait', 'run', 'store results']);
      // Inside the piscina call: the thread that ran the entry's task, timed by that thread, within the run.
      const runSpan = spans.find((s) => s.name === 'run' && parentOf(s) === idOf(batch)) as ReadableSpan;
      const threads = spans.filter((s) => parentOf(s) === idOf(runSpan));
      expect(threads.map((s) => [s.name, s.attributes['ringpool.tasks']])).toEqual([['thread', 1]]);
      expect(threads[0]?.attributes['thread.id']).toBeGreaterThan(0);
      const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
      expect(ms(threads[0]!.startTime)).toBeGreaterThanOrEqual(ms(runSpan.startTime) - 5);
      expect(ms(threads[0]!.endTime)).toBeLessThanOrEqual(ms(runSpan.endTime) + 5);
    }
    const reduce = only(spans, 'reduce');
    expect(parentOf(reduce)).toBe(idOf(root));
    expect(reduce.attributes['ringpool.reduced_on']).toBe('scheduler');
  });

  it('start a new trace without one; a job of one entry is reduced beside its run, on the worker', async () => {
    const job = await run(1, {});
    expect(job.traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await spansOf(job.traceId, (s) => named(s, 'store results').length > 0);
    const http = only(spans, 'POST /v1/jobs');
    expect(parentOf(http)).toBeUndefined();
    const root = only(spans, 'job which-thread');
    const split = only(spans, 'split');
    const batch = only(spans, 'batch');
    const reduce = only(spans, 'reduce');
    expect([parentOf(root), parentOf(split), parentOf(batch), parentOf(reduce)]).toEqual([idOf(http), idOf(root), idOf(split), idOf(batch)]);
    expect(reduce.attributes['ringpool.reduced_on']).toBe(job.timing.reducedOn);
    expect(spans.every((s) => s.spanContext().traceId === job.traceId)).toBe(true);
  });
});

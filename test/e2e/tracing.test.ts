// One trace per job across processes: api, scheduler and worker processes send their spans (OTLP/HTTP, JSON) to a receiver the test runs.
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processClusterPerTest } from '../helpers/process-cluster-per-test.js';

const startCluster = processClusterPerTest();

/** A span as the receiver got it, with what its process said of itself (its resource). */
interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly roles: string;
  readonly pid: number;
}

const received: ReceivedSpan[] = [];
let receiver: Server;
let endpoint: string;

/** A plain OTLP/HTTP receiver: POST /v1/traces with a JSON ExportTraceServiceRequest. */
beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const raw = Buffer.concat(chunks);
        collect(JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => receiver?.close(r));
});

type Attribute = { key: string; value: { stringValue?: string; intValue?: number | string } };

function collect(body: { resourceSpans?: Array<{ resource?: { attributes?: Attribute[] }; scopeSpans?: Array<{ spans?: any[] }> }> }): void {
  for (const { resource, scopeSpans } of body.resourceSpans ?? []) {
    const attribute = (key: string) => resource?.attributes?.find((a) => a.key === key)?.value;
    const roles = attribute('ringpool.roles')?.stringValue ?? '';
    const pid = Number(attribute('process.pid')?.intValue ?? 0);
    for (const scope of scopeSpans ?? []) {
      for (const s of scope.spans ?? []) received.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, roles, pid });
    }
  }
}

describe('traces across processes', () => {
  it("a job's spans from the api, scheduler and worker processes share its trace id, continued from the caller's traceparent, with the right parents", async () => {
    const c = await startCluster({ workers: [{ id: 'w1', threads: 1 }, { id: 'w2', threads: 1 }], name: 'traces', flags: ['--otlp-endpoint', endpoint] });
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const callerSpan = 'b7ad6b7169203331';
    const submitted = await fetch(`${c.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
      body: JSON.stringify({ job: 'which-thread', input: { tasks: Array.from({ length: 6 }, () => ({ ms: 1 })) }, options: { batchSize: 1 } }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const job = await c.waitForJobEnd(id);
    expect(job.status).toBe('completed');
    expect(job.traceId).toBe(traceId);

    // Each process sends its spans in batches (about every second): wait for the last ones.
    const spans = await c.waitFor('the trace of the job at the receiver', async () => {
      const mine = received.filter((s) => s.traceId === traceId);
      const done = mine.some((s) => s.name === 'reduce') && mine.filter((s) => s.name === 'store results').length >= 6;
      return done ? mine : undefined;
    });
    const only = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect(found.map((s) => s.name), `one ${name} span`).toEqual([name]);
      return found[0] as ReceivedSpan;
    };

    const http = only('POST /v1/jobs');
    const root = only('job which-thread');
    const split = only('split');
    const reduce = only('reduce');
    const batches = spans.filter((s) => s.name === 'batch');
    expect(batches).toHaveLength(6);
    expect([http.parentSpanId, root.parentSpanId, split.parentSpanId, reduce.parentSpanId]).toEqual([callerSpan, http.spanId, root.spanId, root.spanId]);
    for (const batch of batches) {
      expect(batch.parentSpanId).toBe(split.spanId);
      expect(spans.filter((s) => s.parentSpanId === batch.spanId).map((s) => s.name).sort()).toEqual(['queue.wait', 'run', 'store results']);
    }

    // Who sent what: the request and the job span by the api process, split and reduce by the
    // scheduler, the entries by the workers; three kinds of process, each its own.
    expect([http.roles, root.roles, split.roles, reduce.roles]).toEqual(['api', 'api', 'scheduler', 'scheduler']);
    expect(new Set(batches.map((b) => b.roles))).toEqual(new Set(['worker']));
    const pids = new Set([http.pid, split.pid, ...batches.map((b) => b.pid)]);
    expect(pids.size).toBeGreaterThanOrEqual(3);
  }, 180_000);
});

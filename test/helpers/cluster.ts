// Starts a whole ringpool node in the test process against the shared test Redis, with its own key prefix.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.js';
import { startNode, type Roles, type RunningNode } from '../../src/node/node.js';
import { until } from './poll.js';
import { uniquePrefix } from './prefix.js';

export const FIXTURE_JOBS = new URL('../fixtures/jobs', import.meta.url).pathname;

export interface TestNode extends RunningNode {
  readonly url: string;
  readonly prefix: string;
  /** A connection of the test's own to the node's Redis, to look into or poke it (the node's own are its store's); closed with the node. */
  readonly redis: Redis;
  /** fetch against the node's API, JSON in and out. */
  api(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  /** Polls until the job has ended; returns its record as the API shows it. */
  waitForJob(id: string, timeoutMs?: number): Promise<any>;
}


export async function startTestNode(overrides: Partial<Config> = {}, name = 'node', roles: Roles = { api: true, scheduler: true, worker: true }): Promise<TestNode> {
  const prefix = overrides.prefix ?? uniquePrefix(name);
  const dataDir = mkdtempSync(join(tmpdir(), `ringpool-test-${name}-`));
  const config = { ...loadConfig({ port: 0, threads: 2, workerId: `w-${name}`, jobsDirs: [FIXTURE_JOBS], logLevel: 'silent', dataDir }, {}), ...overrides, prefix };
  const redisUrl = overrides.redisUrl ?? inject('redisUrl');
  const node = await startNode({ ...config, redisUrl }, roles, pino({ level: 'silent' }));
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {}); // a test that stops Redis sees it in its own calls
  const url = node.url as string;
  const api: TestNode['api'] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers };
    const res = await fetch(`${url}${path}`, {
      method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      headers,
      ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    const body = type.includes('json') ? await res.json() : type.startsWith('image/') ? Buffer.from(await res.arrayBuffer()) : await res.text();
    return { status: res.status, body, headers: res.headers };
  };
  const waitForJob: TestNode['waitForJob'] = async (id, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api(`/v1/jobs/${id}`);
      if (['completed', 'failed', 'cancelled'].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status} after ${timeoutMs} ms: ${JSON.stringify(body.progress)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const close = async () => {
    redis.disconnect();
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { ...node, url, prefix, redis, api, waitForJob, close };
}

/**
 * Waits until `count` worker nodes are alive in `node`'s cluster view and, where `node` runs the
 * scheduler, among the members its leader has committed: registered is not yet placed on (an idle
 * leader reads the registrations on its 500-ms grid), so a job submitted before may go to fewer nodes.
 */
export async function untilWorkersPlaced(node: TestNode, count: number, ms = 20_000): Promise<void> {
  await until(`${count} worker nodes alive and among the leader's members`, ms, async () => {
    const { body } = await node.api('/v1/cluster');
    const alive = body.workers.filter((w: { state: string }) => w.state === 'alive').length === count;
    return alive && (node.consensus === undefined || node.consensus.control.snapshot().members.length === count);
  }, 50);
}

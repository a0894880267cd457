// Deploying job modules at runtime: a new version serves new jobs on every node with no restart,
// a job in flight keeps the version it was submitted to, rollback, deletion rules, bad uploads.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestNode, untilWorkersPlaced, type TestNode } from '../helpers/cluster.js';

/** A job module whose every task returns `value`; a task waits while the file `input.hold` exists. */
function moduleSource(value: number, name = 'stamp'): string {
  return `import { existsSync } from 'node:fs';
import { z } from 'zod';
import { defineJob } from 'ringpool/sdk';
export default defineJob({
  name: '${name}',
  description: 'returns ${value} per task',
  input: z.object({ tasks: z.number().int().min(1).max(100), hold: z.string().optional() }),
  *split({ tasks, hold }) { for (let i = 0; i < tasks; i++) yield hold ?? null; },
  async run(hold: string | null) {
    while (hold !== null && existsSync(hold)) await new Promise((r) => setTimeout(r, 20));
    return ${value};
  },
  reduce: (results: number[]) => results,
});
`;
}

let a: TestNode; // api + scheduler + worker
let b: TestNode; // a second worker node on the same Redis and prefix: it must serve deployed versions too
beforeAll(async () => {
  a = await startTestNode({ threads: 2 }, 'deploy-a');
  b = await startTestNode({ threads: 2, prefix: a.prefix, workerId: 'w-deploy-b' }, 'deploy-b', { api: false, scheduler: false, worker: true });
  // Placed on by the leader, not only registered: a job placed before would go to `a` alone.
  await untilWorkersPlaced(a, 2);
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const deploy = (source: string, filename = 'stamp.ts') => a.api('/v1/job-types', { body: { source, filename } });

async function runJob(input: object): Promise<{ job: any; result: unknown }> {
  const created = await a.api('/v1/jobs', { body: { job: 'stamp', input, options: { batchSize: 1 } } });
  expect(created.status).toBe(202);
  const job = await a.waitForJob(created.body.id as string);
  expect(job.status).toBe('completed');
  return { job, result: (await a.api(`/v1/jobs/${job.id}/result`)).body.result };
}

describe('deployed job types', () => {
  it('a deployed module runs on every node at once, and each job records its version', async () => {
    const first = await deploy(moduleSource(1));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'stamp', version: 1, created: true, digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const types = (await a.api('/v1/job-types')).body.jobTypes as Array<{ name: string; source: string; version: number | null }>;
    expect(types.find((t) => t.name === 'stamp')).toMatchObject({ source: 'deployed', version: 1 });
    expect(types.find((t) => t.name === 'flaky')).toMatchObject({ source: 'folder', version: null });
    const { job, result } = await runJob({ tasks: 8 });
    expect(job.version).toBe(1);
    expect(result).toEqual(Array(8).fill(1));
    // Both nodes ran tasks of it: the second loaded the version without a restart.
    expect(Object.keys(job.tasksPerNode).sort()).toEqual(['w-deploy-a', 'w-deploy-b']);
  });

  it('the same code again makes no version; a job in flight keeps its version across a deploy', async () => {
    expect((await deploy(moduleSource(1))).body).toMatchObject({ version: 1, created: false });
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-deploy-'));
    const hold = join(dir, 'hold');
    writeFileSync(hold, '');
    try {
      const created = await a.api('/v1/jobs', { body: { job: 'stamp', input: { tasks: 6, hold }, options: { batchSize: 1 } } });
      const id = created.body.id as string;
      await vi.waitFor(async () => expect((await a.api(`/v1/jobs/${id}`)).body.progress.placed).toBe(6), { timeout: 20_000, interval: 50 });
      expect((await deploy(moduleSource(2))).body).toMatchObject({ version: 2, created: true });
      rmSync(hold);
      const job = await a.waitForJob(id);
      expect(job).toMatchObject({ status: 'completed', version: 1 });
      expect((await a.api(`/v1/jobs/${id}/result`)).body.result).toEqual(Array(6).fill(1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const { job, result } = await runJob({ tasks: 4 });
    expect(job.version).toBe(2);
    expect(result).toEqual(Array(4).fill(2));
  });

  it('rolls back to an older version, lists versions, and deletes only one that is neither active nor in use', async () => {
    const back = await a.api('/v1/job-types/stamp/versions/1/activate', { method: 'POST' });
    expect(back.body).toEqual({ name: 'stamp', active: 1, before: 2 });
    const { job, result } = await runJob({ tasks: 3 });
    expect(job.version).toBe(1);
    expect(result).toEqual([1, 1, 1]);
    const versions = await a.api('/v1/job-types/stamp/versions');
    expect(versions.body).toMatchObject({ name: 'stamp', active: 1 });
    expect(versions.body.versions.map((v: { version: number; active: boolean }) => [v.version, v.active])).toEqual([[1, true], [2, false]]);
    const active = await a.api('/v1/job-types/stamp/versions/1', { method: 'DELETE' });
    expect(active.status).toBe(409);
    expect(active.body.error.message).toMatch(/active/);
    expect((await a.api('/v1/job-types/stamp/versions/2', { method: 'DELETE' })).body).toEqual({ name: 'stamp', version: 2, deleted: true });
    expect((await a.api('/v1/job-types/stamp/versions/2', { method: 'DELETE' })).status).toBe(404);
    expect((await a.api('/v1/job-types/stamp/versions/9/activate', { method: 'POST' })).status).toBe(404);
  });

  it('refuses a bad upload with a 4xx that says what is wrong, and stores nothing', async () => {
    const before = await a.store.jobTypes.revision();
    const cases: Array<[body: unknown, status: number, message: RegExp]> = [
      [{ source: 'export default {', filename: 'broken.ts' }, 400, /broken\.ts:1:\d+: /],
      [{ source: 'export const x = 1;' }, 400, /no default export/],
      [{ source: "import h from './helper.js';\nexport default h;" }, 400, /Could not resolve "\.\/helper\.js"/],
      [{ source: moduleSource(3, 'flaky') }, 409, /comes from a --jobs folder/],
      [{ source: '' }, 400, /source/],
      [{ source: 'x', filename: '../etc/passwd' }, 400, /filename/],
      [{ source: 'x', extra: 1 }, 400, /extra/],
    ];
    for (const [body, status, message] of cases) {
      const res = await a.api('/v1/job-types', { body });
      expect({ status: res.status, message: res.body.error?.message }).toMatchObject({ status, message: expect.stringMatching(message) });
    }
    expect(await a.store.jobTypes.revision()).toBe(before);
    expect((await a.store.jobTypes.active()).has('flaky')).toBe(false);
  });
});

// A job keeps the deployed version it was submitted to across a newer deploy and a scheduler leader's SIGKILL: its tasks and its reduce (by the new leader) run that version.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processClusterPerTest } from '../helpers/process-cluster-per-test.js';

const startCluster = processClusterPerTest();

/** Tasks return `mark` once the file they name is gone; the reduce says which version reduced. */
function moduleSource(mark: string): string {
  return `import { existsSync } from 'node:fs';
import { z } from 'zod';
import { defineJob } from 'ringpool/sdk';
export default defineJob({
  name: 'pinned',
  input: z.object({ tasks: z.number().int(), hold: z.string() }),
  *split({ tasks, hold }) { for (let i = 0; i < tasks; i++) yield hold; },
  async run(hold: string) {
    while (existsSync(hold)) await new Promise((r) => setTimeout(r, 20));
    return ${JSON.stringify(mark)};
  },
  reduce: (marks: string[]) => ({ reducedBy: ${JSON.stringify(mark)}, marks: [...new Set(marks)], count: marks.length }),
});
`;
}

describe('deployed versions across a leader failover', () => {
  it('tasks and reduce run the submitted version after a newer deploy and the leader\'s SIGKILL', async () => {
    const c = await startCluster({ workers: [{ id: 'w1', threads: 2 }, { id: 'w2', threads: 2 }], schedulers: 3, name: 'deploy-failover' });
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-deploy-failover-'));
    const hold = join(dir, 'hold');
    writeFileSync(hold, '');
    try {
      expect(await c.call('/v1/job-types', { body: { source: moduleSource('v1'), filename: 'pinned.ts' } })).toMatchObject({ version: 1 });
      const { id } = await c.call('/v1/jobs', { body: { job: 'pinned', input: { tasks: 40, hold }, options: { batchSize: 2 } } });
      await c.waitFor('every task placed', async () => (await c.call(`/v1/jobs/${id}`)).progress.placed === 40);
      expect(await c.call('/v1/job-types', { body: { source: moduleSource('v2'), filename: 'pinned.ts' } })).toMatchObject({ version: 2 });
      const old = await c.waitForLeader();
      c.schedulers.get(old.id)?.child.kill('SIGKILL');
      await c.waitForLeader({ among: c.schedulerIds.filter((s) => s !== old.id), aboveTerm: old.term });
      rmSync(hold);
      const job = await c.waitForJobEnd(id, 120_000);
      expect(job).toMatchObject({ status: 'completed', version: 1 });
      expect((await c.call(`/v1/jobs/${id}/result`)).result).toEqual({ reducedBy: 'v1', marks: ['v1'], count: 40 });
      // A job submitted now runs the active version, 2.
      const { id: next } = await c.call('/v1/jobs', { body: { job: 'pinned', input: { tasks: 4, hold }, options: { batchSize: 2 } } });
      expect(await c.waitForJobEnd(next, 60_000)).toMatchObject({ status: 'completed', version: 2 });
      expect((await c.call(`/v1/jobs/${next}/result`)).result).toEqual({ reducedBy: 'v2', marks: ['v2'], count: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

// `ringpool start --workers auto`: from zero worker nodes a job starts one, the idle node is drained back to zero, and again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WireClusterView, WireJobDetail } from '../../src/api/wire.js';
import { freePort } from '../../src/store/local-redis.js';
import { killAllSpawned, spawnRingpool } from '../helpers/processes.js';
import { until } from '../helpers/poll.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ringpool-e2e-autoscale-'));
afterAll(() => {
  killAllSpawned();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ringpool start --workers auto', () => {
  it('scales from zero on submit, drains the idle node back to zero with every task result stored once, and starts again', async () => {
    const port = await freePort();
    const server = spawnRingpool(['start', '--port', String(port), '--data-dir', dataDir, '--workers', 'auto', '--max-workers', '2', '--threads', '1', '--scale-down-idle-ms', '1000', '--lease-ms', '1000']);
    const [, url] = await server.waitFor(/running at (http:\S+)/, 120_000);
    const logged = (pattern: RegExp, ms = 30_000) => until(`${pattern} in the log`, ms, async () => server.stderr().match(pattern) ?? undefined, 100);
    const cluster = async () => (await (await fetch(`${url}/v1/cluster`)).json()) as WireClusterView;
    // Zero worker nodes, and the leader says so.
    await until('the leader to report an idle backlog', 60_000, async () => ((await cluster()).autoscale?.reason === 'idle' ? true : undefined));
    expect((await cluster()).workers.filter((w) => w.state === 'alive')).toEqual([]);

    const run = async (to: number) => {
      const { id } = (await (await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'primes', input: { from: 0, to } }) })).json()) as { id: string };
      // No worker node alive yet: the job says it waits for capacity (the autoscaler is starting one).
      expect(((await (await fetch(`${url}/v1/jobs/${id}`)).json()) as WireJobDetail).waitingFor).toBe('capacity');
      return await until(`job ${id} to end`, 120_000, async () => {
        const job = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as WireJobDetail;
        return job.status === 'completed' || job.status === 'failed' ? { id, job } : undefined;
      }, 100).then(async (ended) => {
        expect(ended.job.waitingFor).toBeNull();
        return ended;
      });
    };

    const first = await run(2_000_000);
    expect(first.job.status).toBe('completed');
    // Every task's result is stored, once: done = total, nothing failed, and the reduce counts each range once.
    expect(first.job.progress.done).toBe(first.job.progress.total);
    expect(first.job.progress.failed).toBe(0);
    expect(await (await fetch(`${url}/v1/jobs/${first.id}/result`)).json()).toMatchObject({ result: 148933 });
    await logged(/"reason":"cold-start".*autoscale: starting a worker node/);

    // Idle: the node is drained (SIGTERM: it finishes what it has and exits 0), back to zero alive.
    await logged(/"reason":"idle".*autoscale: draining a worker node/, 30_000);
    await logged(/"code":0,"signal":null,"msg":"autoscale: worker node process exited"/, 30_000);
    await until('zero alive worker nodes', 60_000, async () => {
      const v = await cluster();
      return v.workers.every((w) => w.state !== 'alive') && v.autoscale?.current === 0 && v.autoscale.desired === 0 ? true : undefined;
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/ringpool_autoscale_decisions_total\{direction="up",reason="cold-start"\} 1/);
    expect(metrics).toMatch(/ringpool_autoscale_decisions_total\{direction="down",reason="idle"\} 1/);
    expect(metrics).toMatch(/^ringpool_desired_worker_nodes 0$/m);

    // And from zero again (the next standby process).
    const second = await run(1_000_000);
    expect(second.job.status).toBe('completed');
    expect(await (await fetch(`${url}/v1/jobs/${second.id}/result`)).json()).toMatchObject({ result: 78498 });

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, 180_000);
});

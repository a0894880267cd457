// `ringpool cluster up --workers 0..2`: the supervisor's autoscaler cold-starts a worker node for a job, `status` shows current/desired, `down` leaves no process.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { clusterDown, clusterUp, killClusterNow, manifestPath, readManifest, runClusterCommand } from '../../src/cli/cluster.js';
import { fetchJson, runningAs, until } from '../helpers/poll.js';

const dir = mkdtempSync(join(tmpdir(), 'ringpool-cluster-autoscale-'));
// The cluster's processes are detached: if this test process dies, they would run on.
const killAll = () => killClusterNow(dir);
process.once('exit', killAll);

afterAll(async () => {
  process.removeListener('exit', killAll);
  // A test that failed half-way must not leave its cluster running.
  if (existsSync(manifestPath(dir))) await clusterDown(dir, { graceMs: 2_000 });
  rmSync(dir, { recursive: true, force: true });
});

describe('ringpool cluster up --workers MIN..MAX', () => {
  it('starts no worker until a job comes, cold-starts one for it (the job completes), shows current/desired in status, and down stops every process the autoscaler started', async () => {
    const manifest = await clusterUp({ dir, basePort: 0, workers: '0..2', threads: 1, logLevel: 'warn', timeoutMs: 300_000 });
    expect(manifest.autoscale).toMatchObject({ minNodes: 0, maxNodes: 2, decisions: {} });
    expect(manifest.processes.filter((p) => p.role === 'worker' && p.autoscaled === undefined)).toEqual([]);
    // Every pid ever listed, with the command line it was listed with: down must leave none of them running.
    const everyPid = new Map<number, string>();
    const note = () => readManifest(dir)?.processes.forEach((p) => everyPid.set(p.pid, p.match));
    note();
    const noting = setInterval(note, 100);
    try {
      // MIN 0: no worker node, and the leader reports an idle backlog.
      await until('an idle backlog report', 60_000, async () => ((await fetchJson(`${manifest.apiUrl}/v1/cluster`)).autoscale?.reason === 'idle' ? true : undefined));
      expect((await fetchJson(`${manifest.apiUrl}/v1/cluster`)).workers.filter((w: { state: string }) => w.state === 'alive')).toEqual([]);

      const { id } = await fetchJson(`${manifest.apiUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'primes', input: { from: 0, to: 2_000_000 } }) });
      let answer: { result?: unknown } = {};
      await expect.poll(async () => (answer = await fetchJson(`${manifest.apiUrl}/v1/jobs/${id}/result?wait=30000`)).result !== undefined, { timeout: 120_000 }).toBe(true);
      expect(answer.result).toBe(148933);
      const job = await fetchJson(`${manifest.apiUrl}/v1/jobs/${id}`);
      expect(job.progress.done).toBe(job.progress.total);

      // The cold start: counted in the manifest, logged by the supervisor, the node listed as autoscaled.
      const after = readManifest(dir)!;
      expect(after.autoscale?.decisions['up:cold-start']).toBe(1);
      const nodes = after.processes.filter((p) => p.autoscaled === 'node');
      expect(nodes.length).toBeGreaterThanOrEqual(1);
      for (const n of nodes) expect(runningAs(n.pid, n.match), `${n.id} pid ${n.pid}`).toBe(true);
      const supervisorLog = readFileSync(join(dir, 'logs', 'supervisor.log'), 'utf8');
      expect(supervisorLog).toMatch(/"reason":"cold-start".*autoscale: starting a worker node/);
      expect(supervisorLog).toMatch(/auto-\d+ \(worker, autoscaled, parked spare\) started: pid \d+/);

      // `cluster status`: the autoscaled processes and current vs desired.
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        expect(await runClusterCommand(['status', '--dir', dir])).toBe(0);
        const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
        expect(printed).toMatch(/^worker\s+auto-\d+\s+-\s+\d+\s+yes\s+0\s+\(autoscaled\)$/m);
        expect(printed).toMatch(/^autoscale: worker nodes 0\.\.2, current [12], desired \d+ \(\S+\); decisions: up:cold-start 1/m);
      } finally {
        log.mockRestore();
      }
    } finally {
      clearInterval(noting);
    }
    note();
    // Those started and gone before a poll saw them are in the supervisor's log.
    for (const m of readFileSync(join(dir, 'logs', 'supervisor.log'), 'utf8').matchAll(/(auto-\d+) \(worker, autoscaled[^)]*\) started: pid (\d+)/g)) {
      if (!everyPid.has(Number(m[2]))) everyPid.set(Number(m[2]), `--worker-id ${m[1]} .*${dir}`);
    }

    const outcomes = await clusterDown(dir, { graceMs: 60_000 });
    expect(outcomes?.[0]).toMatchObject({ id: 'supervisor', outcome: 'stopped' });
    // The supervisor drained its worker nodes before it exited: none was left for down to signal.
    expect(outcomes?.filter((o) => o.id.startsWith('auto-'))).toEqual([]);
    expect(outcomes?.filter((o) => o.outcome !== 'stopped')).toEqual([]);
    const left = [...everyPid].filter(([pid, match]) => runningAs(pid, match)).map(([pid]) => pid);
    expect(left, `still running after down: ${left.join(', ')}`).toEqual([]);
    expect([...everyPid.values()].filter((m) => m.includes('auto-')).length).toBeGreaterThanOrEqual(2);
    expect(existsSync(manifestPath(dir))).toBe(false);
  }, 400_000);
});

// `ringpool cluster up/down`: the whole topology as detached processes on free ports, a job across three workers, restarts by the supervisor, nothing left behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { clusterDown, clusterStatus, clusterUp, killClusterNow, manifestPath, readManifest, restartDelay, runClusterCommand, type ClusterManifest, type ClusterProcess } from '../../src/cli/cluster.js';
import { fetchJson, running, runningAs, until } from '../helpers/poll.js';
import { freePort } from '../../src/store/local-redis.js';

const dirs: string[] = [];
// The cluster's processes are detached: if this test process dies, they would run on.
const killAll = () => dirs.forEach((dir) => killClusterNow(dir));
process.once('exit', killAll);
function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ringpool-cluster-${name}-`));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  process.removeListener('exit', killAll);
  // A test that failed half-way must not leave its cluster running.
  for (const dir of dirs) {
    if (existsSync(manifestPath(dir))) await clusterDown(dir, { graceMs: 2_000 });
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `ringpool_tasks_completed_total` of one worker node, summed over job types. */
async function tasksCompleted(workerUrl: string): Promise<number> {
  const text = await (await fetch(`${workerUrl}/metrics`)).text();
  return [...text.matchAll(/^ringpool_tasks_completed_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('ringpool cluster', () => {
  it('up starts Redis + Sentinel, 3 Raft schedulers, 3 workers and the API; a job runs across the workers; down leaves no process behind', async () => {
    const dir = tempDir('full');
    const started = Date.now();
    const progress: string[] = [];
    // Thirteen processes starting on a loaded two-core machine: give `up` all the time it needs to be ready.
    const manifest: ClusterManifest = await clusterUp({ dir, basePort: 0, workers: 3, threads: 1, logLevel: 'warn', timeoutMs: 300_000, onProgress: (l) => progress.push(l) });
    const upMs = Date.now() - started;

    // The manifest: every role, its own port, a live pid, a pid file and a log file.
    const byRole = (role: string) => manifest.processes.filter((p) => p.role === role);
    expect(manifest.state).toBe('up');
    expect(byRole('redis-master')).toHaveLength(1);
    expect(byRole('redis-replica')).toHaveLength(2);
    expect(byRole('sentinel')).toHaveLength(3);
    expect(byRole('scheduler').map((p) => p.id)).toEqual(['s1', 's2', 's3']);
    expect(byRole('worker').map((p) => p.id)).toEqual(['w1', 'w2', 'w3']);
    expect(byRole('api')).toHaveLength(1);
    expect(byRole('supervisor')).toHaveLength(1);
    expect(readFileSync(byRole('supervisor')[0]!.log, 'utf8')).toMatch(/supervisor pid \d+ is watching the 13 processes/);
    expect(new Set(manifest.processes.map((p) => p.port)).size).toBe(manifest.processes.length);
    for (const p of manifest.processes) {
      expect(running(p.pid), `${p.id} pid ${p.pid}`).toBe(true);
      expect(readFileSync(p.pidFile, 'utf8').trim()).toBe(String(p.pid));
      expect(existsSync(p.log)).toBe(true);
    }
    expect(JSON.parse(readFileSync(manifestPath(dir), 'utf8'))).toEqual(manifest);
    expect(manifest.apiUrl).toBe(byRole('api')[0]?.url);
    // Secrets go to the processes through the environment, never their command lines.
    expect(readFileSync(join(dir, 'secrets.env'), 'utf8')).toMatch(/^RINGPOOL_CLUSTER_SECRET=\S{16,}$/m);
    for (const p of manifest.processes) expect(p.command.join(' ')).not.toMatch(/secret|token/i);

    // Every process serves /healthz and /readyz (schedulers and workers on their own ports).
    for (const p of [...byRole('scheduler'), ...byRole('worker'), ...byRole('api')]) {
      expect((await fetch(`${p.url}/healthz`)).status, `${p.id} /healthz`).toBe(200);
      expect((await fetch(`${p.url}/readyz`)).status, `${p.id} /readyz`).toBe(200);
    }

    // The cluster view: three workers alive, Redis master + 2 replicas found through Sentinel.
    let view = await fetchJson(`${manifest.apiUrl}/v1/cluster`);
    // Right after `up` the view may name no leader yet (the schedulers' statuses are published on their grid): ask again, as a client would.
    for (let i = 0; i < 100 && view.leaderId === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = await fetchJson(`${manifest.apiUrl}/v1/cluster`);
    }
    expect(view.workers.filter((w: { state: string }) => w.state === 'alive').map((w: { id: string }) => w.id).sort()).toEqual(['w1', 'w2', 'w3']);
    expect(view.redis.master.address).toBe(`127.0.0.1:${byRole('redis-master')[0]?.port}`);
    expect(view.redis.replicas).toHaveLength(2);

    // Raft-specific: the three schedulers form one group with one leader (elected, not configured).
    expect(['s1', 's2', 's3']).toContain(view.leaderId);
    // A follower learns who leads from the leader's first message after the vote: ask until all three agree.
    type Status = { id: string; role: string; leaderId: string };
    let roles: Status[] = [];
    await expect
      .poll(async () => {
        roles = await Promise.all(byRole('scheduler').map(async (s) => (await fetchJson(`${s.url}/status`)) as Status));
        return roles.filter((r) => r.role === 'follower' && r.leaderId === view.leaderId).length;
      }, { timeout: 60_000 })
      .toBe(2)
      .catch(() => {}); // the expectations below say what the schedulers answered instead
    expect(roles.filter((s) => s.role === 'leader')).toHaveLength(1);
    expect(roles.filter((s) => s.role === 'follower')).toHaveLength(2);
    expect(new Set(roles.map((s) => s.leaderId))).toEqual(new Set([view.leaderId]));

    // A job across the three worker nodes.
    const jobStarted = Date.now();
    const { id } = await fetchJson(`${manifest.apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ job: 'primes', input: { from: 0, to: 2_000_000 } }),
    });
    // The result route's long poll, asked again while it answers "not yet" (202).
    let answer: { result?: unknown } = {};
    await expect
      .poll(async () => (answer = await fetchJson(`${manifest.apiUrl}/v1/jobs/${id}/result?wait=30000`)).result !== undefined, { timeout: 120_000 })
      .toBe(true);
    expect(answer.result).toBe(148933);
    const job = await fetchJson(`${manifest.apiUrl}/v1/jobs/${id}`);
    const perNode = await Promise.all(byRole('worker').map((w) => tasksCompleted(w.url)));
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(job.progress.total);
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    const jobMs = Date.now() - jobStarted;

    // `ringpool cluster status`: every process alive, the view of the API.
    const status = await clusterStatus(dir);
    expect(status?.processes.every((p) => p.alive)).toBe(true);
    expect(status?.view).toMatchObject({ leaderId: view.leaderId });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await runClusterCommand(['status', '--dir', dir])).toBe(0);
      const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
      expect(printed).toMatch(/^scheduler\s+s1\s+\d+\s+\d+\s+yes\s+0\s/m);
      expect(printed).toMatch(/^redis-master\s+redis-1\s+\d+\s+\d+\s+yes/m);
      expect(printed).toMatch(/schedulers: leader s[123]/);
    } finally {
      log.mockRestore();
    }

    const downStarted = Date.now();
    // Grace far beyond a graceful stop on a loaded machine: only a process that ignores SIGTERM needs SIGKILL.
    const outcomes = await clusterDown(dir, { graceMs: 60_000 });
    const downMs = Date.now() - downStarted;
    expect(outcomes?.map((o) => o.id)).toEqual(['supervisor', 'api', 'w1', 'w2', 'w3', 's1', 's2', 's3', 'sentinel-1', 'sentinel-2', 'sentinel-3', 'redis-2', 'redis-3', 'redis-1']);
    // SIGTERM is a graceful stop for every part: none should need SIGKILL.
    expect(outcomes?.filter((o) => o.outcome !== 'stopped')).toEqual([]);
    for (const p of manifest.processes) expect(running(p.pid), `${p.id} pid ${p.pid} still running`).toBe(false);
    expect(existsSync(manifestPath(dir))).toBe(false);
    // Data survives a down (the next up on the same ports carries on with it).
    expect(existsSync(join(dir, 'data', 'raft', 's1'))).toBe(true);
    console.log(`cluster-launcher: up ${upMs} ms, primes job ${jobMs} ms (tasks per node ${perNode.join('/')}), down ${downMs} ms`);
  }, 600_000);

  it('a worker and the Redis master killed with SIGKILL are restarted with new pids in cluster.json; a paused process is left alone; a job then runs; down stops every pid ever recorded', async () => {
    const dir = tempDir('supervised');
    const manifest = await clusterUp({ dir, basePort: 0, workers: 2, threads: 1, logLevel: 'warn' });
    // pid → the command-line pattern it was recorded with: with pid_max 32768 and a suite spawning
    // processes and threads by the thousand, a pid may be reused by another test's process.
    const everyPid = new Map(manifest.processes.map((p) => [p.pid, p.match]));
    const find = (m: ClusterManifest, id: string) => m.processes.find((p) => p.id === id) as ClusterProcess;
    const [w1, master, api] = [find(manifest, 'w1'), find(manifest, 'redis-1'), find(manifest, 'api')];

    // SIGSTOP pauses a process, it does not end it: the api must keep its pid while it is stopped.
    process.kill(api.pid, 'SIGSTOP');
    let after: ClusterManifest;
    try {
      process.kill(w1.pid, 'SIGKILL');
      process.kill(master.pid, 'SIGKILL');
      // redis-1 was the master: it comes back only once Sentinel has promoted a replica (down-after 1.5 s + a failover).
      after = await until('w1 and redis-1 to run again under new pids', 60_000, () => {
        const m = readManifest(dir);
        for (const p of m?.processes ?? []) everyPid.set(p.pid, p.match);
        const [w, r] = m === undefined ? [] : [find(m, 'w1'), find(m, 'redis-1')];
        return w && r && w.pid !== w1.pid && r.pid !== master.pid && running(w.pid) && running(r.pid) ? m : undefined;
      });
      expect(find(after, 'api')).toEqual(api);
      expect(running(api.pid)).toBe(true);
    } finally {
      process.kill(api.pid, 'SIGCONT');
    }

    // Counted and explained in the manifest, the pid files and the supervisor's log.
    for (const [before, id] of [[w1, 'w1'], [master, 'redis-1']] as const) {
      const now = find(after, id);
      expect(now).toMatchObject({ restarts: 1, lastExit: { pid: before.pid }, log: before.log, port: before.port });
      expect(readFileSync(now.pidFile, 'utf8').trim()).toBe(String(now.pid));
    }
    expect(find(after, 'w1').command).toEqual(w1.command);
    const supervisorLog = readFileSync(find(after, 'supervisor').log, 'utf8');
    expect(supervisorLog).toMatch(new RegExp(`w1 \\(worker\\) pid ${w1.pid} exited: .*; restarting in 500 ms`));
    expect(supervisorLog).toMatch(new RegExp(`redis-1 \\(redis-master\\) restarted as a replica of [\\d.:]+: pid ${find(after, 'redis-1').pid} \\(was ${master.pid}\\)`));
    // Same log file, appended to: the lines of the first run are still there.
    expect(readFileSync(w1.log, 'utf8').length).toBeGreaterThan(0);

    // The cluster heals: both workers alive, a master with its two replicas, and a job runs to the right answer.
    await until('both workers alive and Redis with two replicas in the cluster view', 30_000, async () => {
      const view = await fetchJson(`${manifest.apiUrl}/v1/cluster`);
      const alive = view.workers.filter((w: { state: string }) => w.state === 'alive').length;
      return alive === 2 && view.redis.master !== null && view.redis.replicas.length === 2 ? true : undefined;
    });
    // The api was paused through the failover: its connections catch up once it runs again, and
    // until then it answers 503 (a client retries); /readyz says when every one of them answers.
    await until('the api to be ready', 30_000, async () => ((await fetch(`${manifest.apiUrl}/readyz`)).ok ? true : undefined));
    // A replica listed may still be catching up (its WAIT acknowledges nothing yet): the submit
    // then answers 503 NOT_REPLICATED, which a client retries (src/client/http.ts); so does this.
    const submitted = await until('the job to be accepted', 30_000, async () => {
      const res = await fetch(`${manifest.apiUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'primes', input: { from: 0, to: 1_000_000 } }) });
      return res.status === 503 ? undefined : { status: res.status, body: await res.json() };
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const { id } = submitted.body as { id: string };
    // Its result, read as a client reads it: a 503 (a connection of the api's still reconnecting after
    // the failover: "the request changed nothing, try again shortly") is asked again.
    const answered = await until('the job\'s result', 60_000, async () => {
      const res = await fetch(`${manifest.apiUrl}/v1/jobs/${id}/result?wait=30000`);
      return res.status === 503 ? undefined : { status: res.status, body: await res.json() };
    });
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    expect((answered.body as { result?: unknown }).result).toBe(78498);

    // `cluster status` shows the restarts.
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await runClusterCommand(['status', '--dir', dir]);
      const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
      expect(printed).toMatch(/^worker\s+w1\s+\d+\s+\d+\s+yes\s+1\s/m);
      expect(printed).toMatch(/^worker\s+w2\s+\d+\s+\d+\s+yes\s+0\s/m);
      expect(printed).toMatch(/^w1: last exit: /m);
    } finally {
      log.mockRestore();
    }

    for (const p of readManifest(dir)?.processes ?? []) everyPid.set(p.pid, p.match);
    const outcomes = await clusterDown(dir, { graceMs: 5_000 });
    expect(outcomes?.[0]).toMatchObject({ id: 'supervisor', outcome: 'stopped' });
    // Every process of the manifest was still ours (restarted ones under their new pids); SIGKILL after the grace is fine here.
    expect(outcomes?.filter((o) => o.outcome !== 'stopped' && o.outcome !== 'killed')).toEqual([]);
    const left = [...everyPid].filter(([pid, match]) => runningAs(pid, match)).map(([pid]) => pid);
    expect(left, `still running after down: ${left.join(', ')}`).toEqual([]);
  }, 120_000);

  it('the restart delay doubles from 0.5 s up to 10 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => restartDelay(n))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it('down signals nothing whose command line is not the one it started (a recycled pid)', async () => {
    const dir = tempDir('recycled');
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
    // Seen once in CI: the outcome was 'gone' (the stranger no longer running?). Say why if again.
    let strangerExit = 'still running';
    stranger.once('exit', (code, sig) => (strangerExit = `exited early: code ${code}, signal ${sig}`));
    try {
      const pid = stranger.pid as number;
      writeFileSync(
        manifestPath(dir),
        JSON.stringify({
          version: 1,
          state: 'up',
          dir,
          createdAt: new Date().toISOString(),
          apiUrl: 'http://127.0.0.1:1',
          prefix: 'ringpool',
          sentinelName: 'ringpool',
          sentinels: [],
          peers: [],
          threads: 1,
          processes: [{ role: 'redis-master', id: 'redis-1', port: 7104, pid, url: 'redis://127.0.0.1:7104', log: join(dir, 'x.log'), pidFile: join(dir, 'x.pid'), command: ['redis-server'], match: 'redis-server.*:7104\\b' }],
        }),
      );
      const outcomes = await clusterDown(dir, { graceMs: 500 });
      expect(outcomes, `the stranger (sleep, pid ${pid}) ${strangerExit}`).toEqual([{ role: 'redis-master', id: 'redis-1', pid, outcome: 'not-ours' }]);
      expect(running(pid)).toBe(true);
      expect(existsSync(manifestPath(dir))).toBe(false);
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('up refuses ports already in use and says which', async () => {
    const dir = tempDir('busy');
    const base = await freePort();
    const blocker = createServer();
    // base + 4 is the Redis master of the layout.
    await new Promise<void>((r) => blocker.listen(base + 4, '127.0.0.1', () => r()));
    try {
      await expect(clusterUp({ dir, basePort: base })).rejects.toThrow(new RegExp(`${base + 4} \\(redis-1\\).* in use .*--base-port 0 for free ports`));
      expect(existsSync(manifestPath(dir))).toBe(false);
    } finally {
      blocker.close();
    }
  });
});

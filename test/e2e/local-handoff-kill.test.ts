// A job handed to the worker in the leader's process (local-handoff.ts) has no queue entry: SIGKILL of that process mid-task, and the next leader still finishes it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/store/local-redis.js';
import { until } from '../helpers/poll.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { killAllSpawned, spawnRingpool, type Spawned } from '../helpers/processes.js';

const FIXTURE_JOBS = new URL('../fixtures/jobs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ringpool-handoff-kill-'));
afterAll(() => {
  killAllSpawned();
  rmSync(dir, { recursive: true, force: true });
});

/** `ringpool_handed_entries_total` of a node. */
async function handedEntries(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^ringpool_handed_entries_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function call(url: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

describe('a handed job whose process dies', () => {
  it('three `ringpool start` nodes in one Raft group: the leader\'s process runs a one-task job with no queue entry, is killed with SIGKILL mid-task, and the next leader runs the job again to its end', async () => {
    const prefix = uniquePrefix('handoff-kill');
    const ids = ['s1', 's2', 's3'];
    const ports = new Map<string, number>();
    for (const id of ids) ports.set(id, await freePort());
    const peers = ids.map((id) => `${id}=http://127.0.0.1:${ports.get(id)}`).join(',');
    const url = (id: string) => `http://127.0.0.1:${ports.get(id)}`;
    const nodes = new Map<string, Spawned>();
    for (const [i, id] of ids.entries()) {
      nodes.set(id, spawnRingpool([
        'start', '--redis', inject('redisUrl'), '--prefix', prefix, '--jobs', FIXTURE_JOBS, '--log-level', 'warn',
        '--id', id, '--peers', peers, '--port', String(ports.get(id)), '--data-dir', join(dir, id), '--worker-id', `w${i + 1}`, '--threads', '1', '--lease-ms', '2000',
      ]));
    }
    for (const id of ids) await nodes.get(id)?.waitFor(/running at (http:\S+)/, 180_000);
    // The leader as a live node's cluster view names it (the schedulers' statuses, published in Redis), of a term above `aboveTerm`.
    const leaderOf = async (among: readonly string[], aboveTerm = 0) => {
      const view = await call(url(among[0] as string), '/v1/cluster');
      const leading = (view.schedulers as Array<{ id: string; role: string; term: number }>).find((s) => s.role === 'leader' && s.term > aboveTerm && among.includes(s.id));
      return leading === undefined ? undefined : { id: leading.id, term: leading.term };
    };
    const { id: leader, term } = await until('a leader', 60_000, () => leaderOf(ids));
    await until('three workers in the cluster view', 60_000, async () => (await call(url(leader), '/v1/cluster')).workers.length === 3);

    // Jobs of one task each, held in flight: one of them lands on the leader's own worker, which
    // (its type measured by a first job) runs it handed, with no queue entry.
    await call(url(leader), '/v1/jobs?wait=30000', { job: 'flaky', input: { tasks: 1 } });
    const hold = join(dir, 'hold');
    writeFileSync(hold, '');
    const jobs: string[] = [];
    while ((await handedEntries(url(leader))) === 0) {
      jobs.push((await call(url(leader), '/v1/jobs', { job: 'flaky', input: { tasks: 1, holdWhile: hold } })).id);
      expect(jobs.length, 'no job was handed to the leader\'s worker').toBeLessThan(40);
      await new Promise((r) => setTimeout(r, 100));
    }

    nodes.get(leader)?.child.kill('SIGKILL');
    await nodes.get(leader)?.exited;
    const survivors = ids.filter((id) => id !== leader);
    const { id: next } = await until('a new leader', 60_000, () => leaderOf(survivors, term));
    rmSync(hold);
    // Every job ends, completed with its task's result: the handed one too, split again by the new leader.
    for (const id of jobs) {
      const ended = await until(`job ${id} to end`, 90_000, async () => {
        const job = await call(url(next), `/v1/jobs/${id}`);
        return ['completed', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
      });
      expect(ended.status, JSON.stringify(ended)).toBe('completed');
      expect((await call(url(next), `/v1/jobs/${id}/result`)).result).toEqual({ sum: 0, count: 1 });
    }
  }, 300_000);
});

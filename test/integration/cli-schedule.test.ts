// `ringpool schedule add`, `list`, `pause`, `delete` against a running node, through ringpool/client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { killAllSpawned, spawnRingpool } from '../helpers/processes.js';

describe('ringpool schedule', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode({}, 'cli-schedule');
  }, 60_000);

  afterAll(async () => {
    killAllSpawned();
    await node?.close();
  });

  async function cli(...args: string[]) {
    const p = spawnRingpool([...args, '--url', node.url]);
    const { code } = await p.exited;
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  }

  it('add prints the id; list shows it with its next run; the server stored what add sent; pause and delete follow', async () => {
    const added = await cli('schedule', 'add', 'primes', '--cron', '0 2 * * *', '--timezone', 'Europe/Berlin', '--missed', 'run-once', '--input', '{"from":0,"to":10}', '--option', 'retries=2');
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout.trim();
    expect(id).toMatch(/^sch-[0-9a-f]{12}$/);
    const stored = (await node.api(`/v1/schedules/${id}`)).body;
    expect(stored).toMatchObject({ job: 'primes', input: { from: 0, to: 10 }, cron: '0 2 * * *', timezone: 'Europe/Berlin', missed: 'run-once', paused: false });
    expect(stored.options.retries).toBe(2);

    const listed = await cli('schedule', 'list');
    expect(listed.code, listed.stderr).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(id));
    expect(line).toContain('primes');
    expect(line).toContain('"0 2 * * *" Europe/Berlin');
    expect(line).toContain(`next ${new Date(stored.nextRuns[0]).toISOString()}`);

    const paused = await cli('schedule', 'pause', id);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain('paused');
    expect((await node.api(`/v1/schedules/${id}`)).body.paused).toBe(true);

    const deleted = await cli('schedule', 'delete', id);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await node.api(`/v1/schedules/${id}`)).status).toBe(404);
  }, 60_000);

  it('a bad cron expression is the API\'s 400 naming the field; nothing is stored', async () => {
    const bad = await cli('schedule', 'add', 'primes', '--cron', 'nightly', '--input', '{"from":0,"to":10}');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400: cron: "nightly" is not a cron expression/);
    expect((await node.api('/v1/schedules')).body.schedules).toEqual([]);
  }, 60_000);
});

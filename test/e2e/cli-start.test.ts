// `ringpool start` on a fresh data dir: its own Redis pair, the API, a job, the CLI client, a clean stop.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/store/local-redis.js';
import { isAlive, killAllSpawned, spawnRingpool } from '../helpers/processes.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ringpool-e2e-start-'));
afterAll(() => {
  killAllSpawned();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ringpool start', () => {
  it('serves the API, runs primes, drives the CLI client, and leaves no redis-server behind', async () => {
    const port = await freePort();
    const server = spawnRingpool(['start', '--port', String(port), '--data-dir', dataDir, '--threads', '2', '--log-level', 'warn']);
    const [, url] = await server.waitFor(/running at (http:\S+)/, 120_000);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    await server.waitFor(/curl -s -X POST/); // printed on the next line, maybe in the next chunk
    const redisPids = readFileSync(join(dataDir, 'redis', 'redis.pids'), 'utf8').trim().split('\n').map(Number);
    expect(redisPids).toHaveLength(2);
    for (const pid of redisPids) expect(isAlive(pid)).toBe(true);

    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const created = (await (
      await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"job":"primes","input":{"from":0,"to":2000000}}' })
    ).json()) as { id: string };
    let result: { result?: number } = {};
    for (let i = 0; i < 600 && result.result === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${url}/v1/jobs/${created.id}/result`);
      if (res.status === 200) result = (await res.json()) as { result: number };
    }
    expect(result.result).toBe(148933);

    const client = spawnRingpool(['submit', 'primes', '--input', '{"from":0,"to":10000000}', '--wait', '--url', url as string]);
    const { code } = await client.exited;
    expect(code, client.stderr()).toBe(0);
    expect(JSON.parse(client.stdout())).toBe(664579);
    expect(client.stderr()).toMatch(/\[#+\] 100% \d+\/\d+/);

    const bad = spawnRingpool(['submit', 'primes', '--input', '{"from":5,"to":"x"}', '--url', url as string]);
    expect((await bad.exited).code).toBe(1);
    expect(bad.stderr()).toMatch(/400: input\.to/);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    for (const pid of redisPids) expect(isAlive(pid)).toBe(false);
  }, 300_000);

  it('says how to install redis-server when it is missing', async () => {
    const server = spawnRingpool(['start', '--port', '0', '--data-dir', dataDir], { PATH: '/nonexistent' });
    const { code } = await server.exited;
    expect(code).not.toBe(0);
    expect(server.stderr()).toMatch(/apt-get install -y redis-server/);
  });

  it('exits with the cause and what to fix when a role fails to start, closing what had started (it used to hang, serving)', async () => {
    const notADir = join(dataDir, 'a-file');
    writeFileSync(notADir, '');
    // Nothing listens on this port: the Redis connections keep retrying until the node closes them.
    const redis = `redis://127.0.0.1:${await freePort()}`;
    const scheduler = spawnRingpool(['scheduler', '--redis', redis, '--data-dir', notADir, '--port', '0', '--log-level', 'warn']);
    const { code } = await scheduler.exited;
    expect(code).toBe(2); // a configuration error
    expect(scheduler.stderr()).toMatch(/ringpool scheduler: --data-dir ".*a-file" cannot hold the Raft log \(ENOTDIR: not a directory.*\): give a writable directory/);
  }, 120_000);

  it('a stop that comes while it starts is acted on once started: exit 0 and no redis-server left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-e2e-early-stop-'));
    try {
      const server = spawnRingpool(['start', '--port', '0', '--data-dir', dir, '--log-level', 'warn']);
      // The pid file is written once both Redis servers run, before the replica links and the node starts.
      const pidFile = join(dir, 'redis', 'redis.pids');
      while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim().split('\n').length < 2) {
        if (server.child.exitCode !== null) throw new Error(`exited before starting Redis: ${server.stderr()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const redisPids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
      server.child.kill('SIGTERM'); // to the node process alone, as a supervisor would send it
      expect(await server.exited).toEqual({ code: 0, signal: null });
      for (const pid of redisPids) expect(isAlive(pid)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

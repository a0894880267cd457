// A process that cannot do its work is replaced: it exits non-zero with the reason, and a stop signal ends it whatever it waits on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STUCK_EXIT_CODE } from '../../src/cli/main.js';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.js';
import { killAllSpawned, spawnRingpool } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'ringpool-e2e-stuck-'));
const servers: LocalRedis[] = [];
afterAll(async () => {
  killAllSpawned();
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A worker node process on its own Redis; resolves once it serves. */
async function startWorker(id: string, flags: string[]) {
  const redis = await startLocalRedis({ dir });
  servers.push(redis);
  const worker = spawnRingpool(['worker', '--redis', redis.url, '--worker-id', id, '--threads', '1', '--port', '0', '--data-dir', join(dir, id), '--log-level', 'warn', ...flags]);
  await worker.waitFor(/serving \/healthz/, 60_000);
  return { redis, worker };
}

/** Resolves with how the process ended, or 'still running' after `ms`. */
function endedWithin(exited: Promise<{ code: number | null }>, ms: number): Promise<number | null | 'still running'> {
  return Promise.race([exited.then((e) => e.code), new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]);
}

describe('a process whose Redis is gone for good', () => {
  it(`exits ${STUCK_EXIT_CODE} after --stuck-after-ms, naming the connections that do not answer`, async () => {
    const { redis, worker } = await startWorker('w-stuck', ['--stuck-after-ms', '3000']);
    redis.process.kill('SIGKILL');
    // Generous: what is checked is that it ends by itself (it used to run on, doing nothing).
    expect(await endedWithin(worker.exited, 30_000)).toBe(STUCK_EXIT_CODE);
    expect(worker.stderr()).toMatch(/stuck, exiting to be restarted: Redis has not answered for 3 s on .*worker-bullmq/);
  }, 90_000);

  it('ends on SIGTERM within --drain-timeout-ms although its drain waits on Redis', async () => {
    const { redis, worker } = await startWorker('w-term', ['--stuck-after-ms', '0', '--drain-timeout-ms', '2000']);
    redis.process.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    worker.child.kill('SIGTERM');
    // It used to take ~22 s here (each part of the shutdown waiting out its own patience on the dead Redis).
    expect(await endedWithin(worker.exited, 12_000)).not.toBe('still running');
  }, 90_000);
});

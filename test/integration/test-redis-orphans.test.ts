// The test set-up stops the Redis pair of an earlier run that was killed before its teardown, and only that.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.js';
import { stopOrphanedPairs } from '../helpers/global-setup.js';
import { running, until } from '../helpers/poll.js';

const root = mkdtempSync(join(tmpdir(), 'orphans-root-'));
const started: LocalRedis[] = [];

afterAll(async () => {
  await Promise.all(started.map((r) => r.stop()));
  rmSync(root, { recursive: true, force: true });
});

/** A run's directory as the set-up leaves it: a Redis server and the owner file naming `owner`. */
async function runDir(name: string, owner: number): Promise<{ dir: string; redis: LocalRedis }> {
  const dir = join(root, `ringpool-test-redis-${name}`);
  mkdirSync(dir);
  const redis = await startLocalRedis({ dir });
  started.push(redis);
  writeFileSync(join(dir, 'owner.json'), JSON.stringify({ owner, redis: [redis.pid] }));
  return { dir, redis };
}

describe('stopOrphanedPairs', () => {
  it("stops a killed run's Redis and removes its directory; leaves a live run's alone", async () => {
    // A process that has ended: its pid names no running node process.
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    const orphan = await runDir('dead', dead);
    const live = await runDir('live', process.pid);

    expect(stopOrphanedPairs(root)).toEqual([orphan.redis.pid]);
    await until('the orphaned redis-server to end', 10_000, () => !running(orphan.redis.pid), 50);
    expect(existsSync(orphan.dir)).toBe(false);
    expect(running(live.redis.pid)).toBe(true);
    expect(existsSync(live.dir)).toBe(true);
  });
});

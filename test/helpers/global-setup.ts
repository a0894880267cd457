// Starts a real Redis master + replica on free ports for the integration suites, and stops them.
// A test run killed outright (SIGKILL, a CI time limit) never reaches the teardown: its pair is
// stopped by the next run's set-up instead, found by the owner file each run leaves in its directory.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalRedis, waitForReplicaLink } from '../../src/store/local-redis.js';
import { runningAs } from './poll.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisReplicaUrl: string;
  }
}

const DIR_PREFIX = 'ringpool-test-redis-';

/** `{ owner, redis: [pids] }`, written once the pair runs. */
interface OwnerFile {
  readonly owner: number;
  readonly redis: readonly number[];
}

/** Stops the Redis pairs of earlier test runs whose process is gone, and removes their directories. */
export function stopOrphanedPairs(root = tmpdir()): number[] {
  const stopped: number[] = [];
  for (const name of readdirSync(root)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(root, name);
    let file: OwnerFile;
    try {
      file = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as OwnerFile;
    } catch {
      continue; // a run still starting, or one from before owner files: not ours to judge
    }
    if (runningAs(file.owner, 'node')) continue;
    for (const pid of file.redis) {
      if (!runningAs(pid, 'redis-server')) continue;
      process.kill(pid, 'SIGKILL');
      stopped.push(pid);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return stopped;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const orphans = stopOrphanedPairs();
  if (orphans.length > 0) console.warn(`stopped ${orphans.length} redis-server process(es) left by an earlier test run that was killed: ${orphans.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const master = await startLocalRedis({ dir });
  const replica = await startLocalRedis({ dir, replicaOf: { host: '127.0.0.1', port: master.port } });
  writeFileSync(join(dir, 'owner.json'), JSON.stringify({ owner: process.pid, redis: [master.pid, replica.pid] } satisfies OwnerFile));
  await waitForReplicaLink(replica.url);
  project.provide('redisUrl', master.url);
  project.provide('redisReplicaUrl', replica.url);
  return async () => {
    await Promise.all([replica.stop(), master.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
}

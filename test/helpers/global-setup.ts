// Starts a real Redis master + replica on free ports for the integration suites, and stops them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalRedis, waitForReplicaLink } from '../../src/store/local-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisReplicaUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'ringpool-test-redis-'));
  const master = await startLocalRedis({ dir });
  const replica = await startLocalRedis({ dir, replicaOf: { host: '127.0.0.1', port: master.port } });
  await waitForReplicaLink(replica.url);
  project.provide('redisUrl', master.url);
  project.provide('redisReplicaUrl', replica.url);
  return async () => {
    await Promise.all([replica.stop(), master.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
}

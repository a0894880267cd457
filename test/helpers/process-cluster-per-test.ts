// For an e2e file: each test's process cluster runs on the test Redis and stops after the test.
import { afterAll, afterEach, inject } from 'vitest';
import { startProcessCluster, type ProcessCluster, type ProcessClusterOptions } from './process-cluster.js';
import { killAllSpawned } from './processes.js';

/**
 * Registers the file's hooks (the cluster a test started stops after it; anything spawned is
 * killed after the file) and returns the function that starts a test's cluster.
 */
export function processClusterPerTest(): (options: Omit<ProcessClusterOptions, 'redisUrl'>) => Promise<ProcessCluster> {
  let cluster: ProcessCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });
  afterAll(() => killAllSpawned());
  return async (options) => (cluster = await startProcessCluster({ ...options, redisUrl: inject('redisUrl') }));
}

// A result written but not acknowledged stays unacknowledged when its write is retried and meets itself (first write wins).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { JobStore, newJobId } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedisTopology, type RedisTopology } from '../helpers/redis-topology.js';
import { storeResults } from '../helpers/store-helpers.js';

/*
 * With the replication link cut, a result is written on the master and its WAIT falls short:
 * NOT_REPLICATED, the task is retried. The retry writes the same task again; first write wins,
 * so the script stores nothing and reports a duplicate. If the store then skips WAIT (nothing
 * new was stored), the retry "succeeds" and the task counts as done: yet its result is still on
 * the master alone. Kill that master and promote the replica, and an acknowledged result is gone.
 *
 * The worker has the same gap one level up: a retried entry first asks `results.storedIndices`
 * (a read on the master), drops the tasks it finds there and returns without any WAIT.
 *
 * Fixed: storeResultJson also waits when the call met duplicates of a job still running, and a
 * retried worker entry calls confirmReplicated() for the tasks it skips.
 */
describe('a retried write of an unacknowledged result', () => {
  let topology: RedisTopology;

  beforeAll(async () => {
    topology = await startRedisTopology({ replicas: 1, linkProxies: true });
  });

  afterAll(async () => {
    await topology?.stop();
  });

  it('is not acknowledged while no replica has it', async () => {
    const [masterPort, replicaPort] = topology.ports as [number, number];
    const keys = createKeys(uniquePrefix('retry-ack'));
    const store = new JobStore(topology.client(masterPort), keys, { minReplicas: 1, waitTimeoutMs: 300 });
    const id = newJobId();
    // Created while the link is whole, by a store that waits long enough on a loaded machine.
    await new JobStore(topology.client(masterPort), keys, { minReplicas: 1, waitTimeoutMs: 10_000 }).createJob({ id, name: 'ack-probe', input: {}, options: JOB_OPTION_DEFAULTS, resultType: 'json' });

    topology.cutLink(replicaPort);
    await expect(storeResults(store, id, [[0, 'first attempt']])).rejects.toMatchObject({ code: 'NOT_REPLICATED' });
    const retry = await storeResults(store, id, [[0, 'second attempt']]).then(
      (r) => ({ acknowledged: true, ...r }),
      (err: { code?: string }) => ({ acknowledged: false, code: err.code }),
    );

    // The master is lost with the link still cut; the operator promotes the replica.
    topology.dropLink(replicaPort);
    await topology.kill(masterPort);
    const replica = topology.client(replicaPort);
    await replica.call('REPLICAOF', 'NO', 'ONE');
    const onPromoted = (await new JobStore(replica, keys).results.storedIndices(id, [0])).has(0);
    console.info(`[replication-retry-ack] retry: ${JSON.stringify(retry)}; on the promoted replica: ${onPromoted}`);
    expect(retry.acknowledged && !onPromoted).toBe(false);
  });
});

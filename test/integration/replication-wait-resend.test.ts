// A WAIT cut off by a failover must not acknowledge, on the new master, a write made on the old one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis, redisTarget } from '../../src/node/redis-connections.js';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { JobStore, newJobId } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedisTopology, type RedisTopology } from '../helpers/redis-topology.js';
import { storeResults } from '../helpers/store-helpers.js';

/*
 * `WAIT` confirms the writes made before it *on the same connection*. When the connection drops
 * while a WAIT is pending, ioredis resends it (autoResendUnfulfilledCommands) on the connection
 * it opens to the new master. There this client has written nothing yet, so WAIT returns at once
 * with every replica attached: the result it claims to confirm was written on the old master and
 * may be on no surviving node.
 *
 * Here, deterministically: both replication links cut (a proxy stops forwarding), so the WAIT
 * after the write blocks; the master killed; Sentinel promotes one replica and attaches the other
 * to it; the resent WAIT then counts that replica. The result must either be rejected
 * (NOT_REPLICATED) or be on the new master; "acknowledged and absent" is the bug.
 *
 * Fixed in JobStore (#acknowledge): the store counts its connection's 'close' events, and a WAIT
 * whose reply arrives on another connection than the write it should confirm counts as 0
 * replicas, so the result is not stored (NOT_REPLICATED) and its task is retried.
 */
describe('a WAIT interrupted by a failover', () => {
  let topology: RedisTopology;

  beforeAll(async () => {
    topology = await startRedisTopology({ replicas: 2, sentinels: 3, linkProxies: true });
  }, 180_000);

  afterAll(async () => {
    await topology?.stop();
  });

  it('does not acknowledge a result the new master does not have', async () => {
    const target = redisTarget({ sentinels: [...topology.sentinels], sentinelName: topology.masterName });
    if (target === undefined) throw new Error('no target');
    const connection = openRedis(target, 'durable', 'wait-resend');
    try {
      const keys = createKeys(uniquePrefix('resend'));
      const store = new JobStore(connection, keys, { minReplicas: 1, waitTimeoutMs: 20_000 });
      const id = newJobId();
      await store.createJob({ id, name: 'ack-probe', input: {}, options: JOB_OPTION_DEFAULTS, resultType: 'json' });

      const [oldMaster, r1, r2] = topology.ports as [number, number, number];
      topology.cutLink(r1);
      topology.cutLink(r2);
      const outcome = storeResults(store, id, [[0, 'written on the old master only']]).then(
        (r) => ({ acknowledged: r.stored === 1 }),
        (err: { code?: string }) => ({ acknowledged: false, code: err.code }),
      );
      // The write is on the master, and its WAIT is blocked there (the master counts a client
      // blocked in WAIT: nothing else of this topology blocks).
      const master = topology.client(oldMaster);
      await expect.poll(async () => (await master.exists(keys.results(id))) === 1, { timeout: 60_000 }).toBe(true);
      await expect.poll(async () => /^blocked_clients:(\d+)/m.exec(await master.info('clients'))?.[1], { timeout: 60_000 }).toBe('1');
      await topology.kill(oldMaster);
      topology.dropLink(r1); // what the proxy held back is gone with the master
      topology.dropLink(r2);
      const promoted = await topology.waitForFailover(oldMaster);

      const result = await outcome;
      const onNewMaster = (await new JobStore(topology.client(promoted.port), keys).results.storedIndices(id, [0])).has(0);
      console.info(`[replication-wait-resend] acknowledged: ${result.acknowledged}; on the new master: ${onNewMaster}`);
      expect(result.acknowledged && !onNewMaster).toBe(false);
    } finally {
      connection.disconnect();
    }
  }, 180_000);
});

// `npm run bench -- replication`: result writes/s with WAIT per batch, per write and without WAIT; acknowledged results lost over a master kill.
import { randomBytes } from 'node:crypto';
import { openRedis, redisTarget, type RedisTarget } from '../src/node/redis-connections.js';
import { JOB_OPTION_DEFAULTS } from '../src/sdk/job-options.js';
import { JobStore, newJobId } from '../src/store/job-store.js';
import { createKeys } from '../src/store/keys.js';
import { startRedisTopology, type RedisTopology } from '../test/helpers/redis-topology.js';
import { numberFlag } from './harness.js';
import { printTable, type BenchSuite } from './report.js';
import { readResults, storeResults } from '../test/helpers/store-helpers.js';

/*
 * One topology for the whole run: master + replica + 3 sentinels on this host, every client
 * through Sentinel as a Sentinel deployment runs. Throughput is one writer awaiting each call,
 * as one worker entry does; the three variants alternate and each keeps its best of two rounds,
 * so a noisy moment does not decide the comparison.
 *
 * Failover: four writers (a worker node's concurrency) store 10,000 results in batches of 50,
 * retrying a batch whose call threw (NOT_REPLICATED, a dropped connection) as BullMQ retries an
 * entry. Half-way the master is SIGKILLed; Sentinel promotes the replica; the old master comes
 * back as its replica. Every result whose call resolved is acknowledged; afterwards the promoted
 * master must hold each of them with the nonce that was acknowledged.
 */
const suite: BenchSuite = async (args) => {
  const writes = numberFlag(args, 'writes', 100_000);
  const eachWrites = numberFlag(args, 'each-writes', 10_000);
  const failoverResults = numberFlag(args, 'failover-results', 10_000);
  const topology = await startRedisTopology({ replicas: 1, sentinels: 3 });
  try {
    const target = redisTarget({ sentinels: [...topology.sentinels], sentinelName: topology.masterName }) as RedisTarget;
    await writesPerSec(target, { minReplicas: 1, batch: 100, total: 5_000 }); // warm-up: scripts loaded, connections made
    const best = { batched: 0, each: 0, noWait: 0 };
    for (let round = 0; round < 2; round++) {
      best.noWait = Math.max(best.noWait, await writesPerSec(target, { minReplicas: 0, batch: 100, total: writes }));
      best.batched = Math.max(best.batched, await writesPerSec(target, { minReplicas: 1, batch: 100, total: writes }));
      best.each = Math.max(best.each, await writesPerSec(target, { minReplicas: 1, batch: 1, total: eachWrites }));
    }
    const failover = await ackedLostAfterFailover(topology, target, failoverResults);

    const figures = {
      writesPerSecWaitBatched: Math.round(best.batched),
      writesPerSecWaitEach: Math.round(best.each),
      writesPerSecNoWait: Math.round(best.noWait),
      ackedLostAfterFailover: failover.lost,
    };
    printTable('replication: result writes through Sentinel, master + 1 replica (ResultStore.storeResultJson, one writer)', [
      ['', 'results', 'per second', 'vs no WAIT'],
      ['WAIT 1 per batch of 100', writes, figures.writesPerSecWaitBatched, `${((100 * best.batched) / best.noWait).toFixed(0)}%`],
      ['WAIT 1 per write (batches of 1)', eachWrites, figures.writesPerSecWaitEach, `${((100 * best.each) / best.noWait).toFixed(1)}%`],
      ['no WAIT (minReplicas 0), batches of 100', writes, figures.writesPerSecNoWait, '100%'],
    ]);
    printTable('replication: master SIGKILLed mid-write, Sentinel promotes the replica', [
      ['results', 'acknowledged before the kill', 'acknowledged in all', 'acknowledged then lost', 'failover (kill → promoted)', 'calls retried'],
      [failoverResults, failover.ackedBeforeKill, failover.acked, failover.lost, `${failover.failoverMs} ms`, failover.retries],
    ]);
    if (failover.acked !== failoverResults) throw new Error(`only ${failover.acked} of ${failoverResults} results were acknowledged`);
    return figures;
  } finally {
    await topology.stop();
  }
};

async function writesPerSec(target: RedisTarget, run: { minReplicas: number; batch: number; total: number }): Promise<number> {
  const connection = openRedis(target, 'durable', 'bench-replication');
  try {
    const store = new JobStore(connection, createKeys(`bench-repl-${randomBytes(3).toString('hex')}`), { minReplicas: run.minReplicas });
    const id = newJobId();
    await store.createJob({ id, name: 'bench', input: {}, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
    const started = performance.now();
    for (let from = 0; from < run.total; from += run.batch) {
      const entries = Array.from({ length: Math.min(run.batch, run.total - from) }, (_, k) => [from + k, { i: from + k, v: (from + k) * 2 }] as const);
      const { stored } = await storeResults(store, id, entries);
      if (stored !== entries.length) throw new Error(`stored ${stored} of ${entries.length}`);
    }
    const perSec = run.total / ((performance.now() - started) / 1000);
    await connection.flushdb(); // the next variant starts from an empty database, as this one did
    return perSec;
  } finally {
    connection.disconnect();
  }
}

async function ackedLostAfterFailover(
  topology: RedisTopology,
  target: RedisTarget,
  total: number,
): Promise<{ acked: number; ackedBeforeKill: number; lost: number; failoverMs: number; retries: number }> {
  const batch = 50;
  const writers = 4;
  const connection = openRedis(target, 'durable', 'bench-failover');
  const keys = createKeys(`bench-failover-${randomBytes(3).toString('hex')}`);
  const store = new JobStore(connection, keys, { minReplicas: 1, waitTimeoutMs: 2_000 });
  const id = newJobId();
  await store.createJob({ id, name: 'bench', input: {}, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
  const acked = new Map<number, string>();
  let retries = 0;
  let next = 0;
  let killed: Promise<{ ackedBeforeKill: number; failoverMs: number }> | undefined;

  const killHalfway = async (): Promise<{ ackedBeforeKill: number; failoverMs: number }> => {
    const oldMaster = topology.initialMaster.port;
    const ackedBeforeKill = acked.size;
    const at = Date.now();
    await topology.kill(oldMaster); // the signal goes out in this tick, after the count
    const promoted = await topology.waitForFailover(oldMaster);
    const failoverMs = Date.now() - at;
    await topology.restartAsReplica(oldMaster, promoted); // WAIT 1 can succeed again
    return { ackedBeforeKill, failoverMs };
  };

  const writer = async () => {
    for (;;) {
      const from = next;
      if (from >= total) return;
      next += batch;
      const entries = Array.from({ length: Math.min(batch, total - from) }, (_, k) => [from + k, { nonce: randomBytes(6).toString('hex') }] as const);
      for (;;) {
        try {
          await storeResults(store, id, entries);
          for (const [index, value] of entries) acked.set(index, value.nonce);
          break;
        } catch {
          retries++; // not stored: the same results again, as a retried queue entry would
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (killed === undefined && acked.size >= total / 2) killed = killHalfway();
    }
  };
  try {
    await Promise.all(Array.from({ length: writers }, writer));
    const { ackedBeforeKill, failoverMs } = await (killed ?? Promise.reject(new Error('the master was never killed')));
    const promoted = await topology.master();
    const stored = (await readResults(new JobStore(topology.client(promoted.port), keys), id, total)) as Array<{ nonce: string } | undefined>;
    let lost = 0;
    for (const [index, nonce] of acked) if (stored[index]?.nonce !== nonce) lost++;
    return { acked: acked.size, ackedBeforeKill, lost, failoverMs, retries };
  } finally {
    connection.disconnect();
  }
}

export default suite;

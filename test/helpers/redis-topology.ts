// Real Redis topologies for the replication tests: master, replicas and sentinels on free ports, kill/pause/restart, cleanup; and a record of acknowledged results.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { JobStore } from '../../src/store/job-store.js';
import { decodeIndices } from '../../src/store/result-blobs.js';
import { probeRedis, startLocalRedis, startLocalSentinel, type LocalRedis } from '../../src/store/local-redis.js';
import type { AckProbeResult } from '../fixtures/jobs/ack-probe.js';

export interface RedisTopologyOptions {
  /** @default 1 */
  readonly replicas?: number;
  /** Sentinels monitoring the master; 0 runs none. @default 0 */
  readonly sentinels?: number;
  /** @default 'ringpool-test' */
  readonly masterName?: string;
  /** `min-replicas-to-write` on every node (a promoted replica keeps it). @default 0 */
  readonly minReplicasToWrite?: number;
  /** Sentinel `down-after-milliseconds`. @default 1000 */
  readonly downAfterMs?: number;
  /** Sentinel `failover-timeout`. @default 5000, or 120000 with `linkProxies` */
  readonly failoverTimeoutMs?: number;
  /**
   * Replicas reach the master through a TCP proxy of this process, so a test can cut the
   * replication link for real (SIGSTOP on a replica is no cut: the kernel keeps receiving the
   * stream for it, and it applies the lot when thawed). Sentinel still talks to every node directly.
   * @default false
   */
  readonly linkProxies?: boolean;
}

export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface RedisTopology {
  readonly dir: string;
  readonly masterName: string;
  /** The master the topology started with. */
  readonly initialMaster: Address;
  /** Every redis-server port started (master first), including killed ones. */
  readonly ports: readonly number[];
  /** `host:port` of each sentinel, as `--sentinels` takes them. */
  readonly sentinels: readonly string[];
  /** The master as the sentinels name it (or, without sentinels, the node whose ROLE is master). */
  master(): Promise<Address>;
  /** A client of one node (closed by `stop`). */
  client(port: number): Redis;
  /** SIGKILL: the process dies without a word to anyone, as a crashed host would. */
  kill(port: number): Promise<void>;
  /** SIGSTOP / SIGCONT: the process freezes with its sockets open (a hung host). */
  pause(port: number): void;
  resume(port: number): void;
  /** Stops forwarding the replication stream to this replica (both ways); the sockets stay open. Needs `linkProxies`. */
  cutLink(replicaPort: number): void;
  /** Closes the replica's proxied connections, throwing away what was held back; the link stays cut. */
  dropLink(replicaPort: number): void;
  /** Forwards again (what was held back flows on). */
  healLink(replicaPort: number): void;
  /** Starts a node again on its old port as a replica of `master` (empty, it resyncs in full). */
  restartAsReplica(port: number, master: Address): Promise<void>;
  /** Resolves with the new master once every sentinel names a master other than `oldPort` and it answers ROLE master. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<Address>;
  /** Resolves once the master at `port` has `count` replicas online with their link up. */
  waitForReplicas(port: number, count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Settings every node gets: a returning replica resyncs at once (the default waits 5 s to batch diskless syncs). */
async function tune(port: number, minReplicasToWrite: number): Promise<void> {
  const c = new Redis({ host: HOST, port, maxRetriesPerRequest: 1 });
  try {
    await c.config('SET', 'repl-diskless-sync-delay', '0');
    if (minReplicasToWrite > 0) {
      await c.config('SET', 'min-replicas-to-write', String(minReplicasToWrite));
      await c.config('SET', 'min-replicas-max-lag', '10');
    }
  } finally {
    c.disconnect();
  }
}

export async function startRedisTopology(options: RedisTopologyOptions = {}): Promise<RedisTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'ringpool-topology-'));
  const masterName = options.masterName ?? 'ringpool-test';
  const minReplicasToWrite = options.minReplicasToWrite ?? 0;
  const nodes = new Map<number, LocalRedis>();
  const sentinels: LocalRedis[] = [];
  const clients: Redis[] = [];
  const paused = new Set<number>();
  const proxies = new Map<number, LinkProxy>();
  // A test that dies half-way must not leave redis-server processes behind.
  const killAll = () => {
    for (const p of [...nodes.values(), ...sentinels]) if (p.process.exitCode === null && p.process.signalCode === null) p.process.kill('SIGKILL');
  };
  process.once('exit', killAll);

  try {
    const master = await startLocalRedis({ dir });
    nodes.set(master.port, master);
    await tune(master.port, minReplicasToWrite);
    for (let i = 0; i < (options.replicas ?? 1); i++) {
      const proxy = options.linkProxies ? await startLinkProxy({ host: HOST, port: master.port }) : undefined;
      const replica = await startLocalRedis({ dir, replicaOf: { host: HOST, port: proxy?.port ?? master.port } });
      nodes.set(replica.port, replica);
      if (proxy !== undefined) proxies.set(replica.port, proxy);
      await tune(replica.port, minReplicasToWrite);
    }
    const count = options.sentinels ?? 0;
    for (let i = 0; i < count; i++) {
      sentinels.push(
        await startLocalSentinel({
          dir,
          masterName,
          master: { host: HOST, port: master.port },
          quorum: Math.floor(count / 2) + 1,
          downAfterMs: options.downAfterMs ?? 1000,
          // Sentinel "fixes" a replica whose master address is not the master's (ours name a proxy)
          // once failover-timeout has passed: keep it longer than a test when proxies are in use.
          failoverTimeoutMs: options.failoverTimeoutMs ?? (options.linkProxies ? 120_000 : 5000),
        }),
      );
    }
  } catch (err) {
    killAll();
    for (const p of proxies.values()) p.close();
    throw err;
  }

  const initialMaster = { host: HOST, port: [...nodes.keys()][0] as number };
  await waitForReplicas(initialMaster.port, nodes.size - 1);
  if (sentinels.length > 0) await waitForSentinelsToSeeReplicas();

  function client(port: number): Redis {
    const c = new Redis({ host: HOST, port, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    c.on('error', () => {});
    clients.push(c);
    return c;
  }

  function node(port: number): LocalRedis {
    const n = nodes.get(port);
    if (n === undefined) throw new Error(`no redis-server of this topology on port ${port}; ports: ${[...nodes.keys()].join(', ')}`);
    return n;
  }

  function proxyOf(replicaPort: number): LinkProxy {
    const p = proxies.get(replicaPort);
    if (p === undefined) throw new Error(`replica ${replicaPort} has no link proxy: start the topology with linkProxies: true`);
    return p;
  }

  /** One look at a node; undefined when it does not answer (the polls above look again). */
  function probe<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T | undefined> {
    return probeRedis(port, fn, 2_000);
  }

  async function sentinelMasters(): Promise<Array<Address | undefined>> {
    return await Promise.all(
      sentinels.map((s) =>
        probe(s.port, async (c) => {
          const reply = (await c.call('SENTINEL', 'get-master-addr-by-name', masterName)) as [string, string] | null;
          return reply === null ? undefined : { host: reply[0], port: Number(reply[1]) };
        }),
      ),
    );
  }

  async function role(port: number): Promise<string | undefined> {
    return await probe(port, async (c) => ((await c.call('ROLE')) as [string])[0]);
  }

  // Deadlines here only say when a state is declared never coming: generous for a loaded machine.
  async function waitForReplicas(port: number, count: number, timeoutMs = 60_000): Promise<void> {
    await poll(`master ${port} to have ${count} replica(s) online`, timeoutMs, async () => {
      const info = await probe(port, (c) => c.info('replication'));
      return info !== undefined && [...info.matchAll(/^slave\d+:.*state=online/gm)].length >= count;
    });
  }

  /** Sentinel learns replicas from the master's INFO (every 10 s at first): a failover needs them known. */
  async function waitForSentinelsToSeeReplicas(timeoutMs = 60_000): Promise<void> {
    const want = nodes.size - 1;
    await poll(`every sentinel to know ${want} replica(s) and the other sentinels`, timeoutMs, async () => {
      const seen = await Promise.all(
        sentinels.map((s) =>
          probe(s.port, async (c) => {
            const replicas = (await c.call('SENTINEL', 'replicas', masterName)) as unknown[];
            const peers = (await c.call('SENTINEL', 'sentinels', masterName)) as unknown[];
            return replicas.length >= want && peers.length >= sentinels.length - 1;
          }),
        ),
      );
      return seen.every((ok) => ok === true);
    });
  }

  return {
    dir,
    masterName,
    initialMaster,
    get ports() {
      return [...nodes.keys()];
    },
    sentinels: sentinels.map((s) => `${HOST}:${s.port}`),
    async master() {
      if (sentinels.length > 0) {
        const named = (await sentinelMasters()).find((a) => a !== undefined);
        if (named !== undefined) return named;
      }
      for (const port of nodes.keys()) if ((await role(port)) === 'master') return { host: HOST, port };
      throw new Error('no node of the topology answers ROLE master');
    },
    client,
    async kill(port) {
      const n = node(port);
      if (n.process.exitCode !== null || n.process.signalCode !== null) return;
      const gone = new Promise<void>((r) => n.process.once('exit', () => r()));
      n.process.kill('SIGKILL');
      paused.delete(port);
      await gone;
    },
    pause(port) {
      node(port).process.kill('SIGSTOP');
      paused.add(port);
    },
    resume(port) {
      node(port).process.kill('SIGCONT');
      paused.delete(port);
    },
    cutLink: (port) => proxyOf(port).cut(),
    dropLink: (port) => proxyOf(port).drop(),
    healLink: (port) => proxyOf(port).heal(),
    async restartAsReplica(port, master) {
      const old = node(port);
      if (old.process.exitCode === null && old.process.signalCode === null) throw new Error(`redis-server on ${port} is still running: kill it first`);
      const again = await startLocalRedis({ dir, port, replicaOf: master });
      nodes.set(port, again);
      await tune(port, minReplicasToWrite);
    },
    async waitForFailover(oldPort, timeoutMs = 90_000) {
      let found: Address | undefined;
      await poll(`the sentinels to promote a replica in place of ${oldPort}`, timeoutMs, async () => {
        const named = await sentinelMasters();
        const first = named[0];
        if (first === undefined || first.port === oldPort) return false;
        if (!named.every((a) => a !== undefined && a.port === first.port)) return false;
        if ((await role(first.port)) !== 'master') return false;
        found = first;
        return true;
      });
      return found as Address;
    },
    waitForReplicas,
    async stop() {
      process.removeListener('exit', killAll);
      for (const c of clients) c.disconnect();
      for (const port of paused) nodes.get(port)?.process.kill('SIGCONT');
      for (const p of proxies.values()) p.close();
      await Promise.all([...sentinels, ...nodes.values()].map((p) => p.stop(2_000)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface LinkProxy {
  readonly port: number;
  cut(): void;
  drop(): void;
  heal(): void;
  close(): void;
}

/** A TCP proxy to `target` whose forwarding can be stopped, and its connections dropped. */
async function startLinkProxy(target: Address): Promise<LinkProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let cut = false;
  const server: Server = createServer((downstream) => {
    if (cut) {
      downstream.destroy(); // a cut link lets no new connection through either
      return;
    }
    const upstream = createConnection(target);
    const pair: [Socket, Socket] = [downstream, upstream];
    // As Redis does: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to every WAIT.
    for (const s of pair) s.setNoDelay(true);
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', close);
      s.on('close', close);
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut() {
      if (cut) return;
      cut = true;
      for (const [down, up] of pairs) {
        down.unpipe(up);
        up.unpipe(down);
      }
    },
    drop() {
      cut = true;
      for (const pair of [...pairs]) for (const s of pair) s.destroy();
    },
    heal() {
      if (!cut) return; // piping twice would forward everything twice, and one cut would stop one pipe of two
      cut = false;
      for (const [down, up] of pairs) {
        down.pipe(up);
        up.pipe(down);
      }
    },
    close() {
      for (const pair of [...pairs]) for (const s of pair) s.destroy();
      server.close();
    },
  };
}

async function poll(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- which results were acknowledged: recorded client-side --------------------------------

export interface AckRecorder {
  /** task index → nonce of every result whose `storeResults` call resolved. */
  readonly acked: ReadonlyMap<number, string>;
  /** Calls that threw, by error code (NOT_REPLICATED, connection errors, ...). */
  readonly rejected: ReadonlyMap<string, number>;
  /** Results of resolved calls that also met earlier results (not counted as acknowledged: see below). */
  readonly ambiguous: number;
  /** Time of each acknowledgement, ms since the epoch. */
  readonly ackTimes: readonly number[];
  /** How many `results.storePackedResults` calls have started so far (acknowledged or not). */
  readonly callsStarted: number;
  /**
   * The number of each acknowledged call in the order calls started (1 = the first call): for
   * "no call started after X was acknowledged", which holds or not however late its answer came.
   */
  readonly ackedCalls: readonly number[];
  /** A copy of `acked` taken now. */
  snapshot(): Map<number, string>;
}

/**
 * Wraps `store.results.storePackedResults`, the one way results reach Redis (the worker node calls
 * it on this very object, which the store keeps; `storeResultJson`, and so `storeResults`, go
 * through it too). A call that
 * resolves with every result stored has passed `WAIT`, so those results count as acknowledged,
 * each with the nonce it carried. A call that met results already stored (first write wins)
 * cannot say which nonce was kept without another read, so its results are left out: the check
 * stays sound, it only checks fewer results.
 */
export function recordAcks(store: JobStore): AckRecorder {
  const acked = new Map<number, string>();
  const rejected = new Map<string, number>();
  const ackTimes: number[] = [];
  const ackedCalls: number[] = [];
  let callsStarted = 0;
  let ambiguous = 0;
  const results = store.results;
  const storePackedResults = results.storePackedResults.bind(results);
  results.storePackedResults = async (jobId, packed, timing, ending) => {
    const call = ++callsStarted;
    try {
      const outcome = await storePackedResults(jobId, packed, timing, ending);
      if (outcome.stored === packed.count && packed.count > 0) {
        const values = JSON.parse(`[${packed.json}]`) as AckProbeResult[];
        decodeIndices(packed.indices).forEach((index, k) => acked.set(index, (values[k] as AckProbeResult).nonce));
        ackTimes.push(Date.now());
        ackedCalls.push(call);
      } else ambiguous += packed.count;
      return outcome;
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as Error).message.split(' ')[0] ?? 'unknown';
      rejected.set(code, (rejected.get(code) ?? 0) + 1);
      throw err;
    }
  };
  return {
    acked,
    rejected,
    ackTimes,
    ackedCalls,
    get callsStarted() {
      return callsStarted;
    },
    get ambiguous() {
      return ambiguous;
    },
    snapshot: () => new Map(acked),
  };
}

/** Acknowledged results whose stored nonce is not the acknowledged one: each was lost and computed again. */
export function lostResults(acked: ReadonlyMap<number, string>, storedNonces: ReadonlyArray<string | undefined>): number[] {
  const lost: number[] = [];
  for (const [index, nonce] of acked) if (storedNonces[index] !== nonce) lost.push(index);
  return lost.sort((a, b) => a - b);
}

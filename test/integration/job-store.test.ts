// The store's Lua scripts against a real Redis master + replica: fencing, first write wins, WAIT.
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { JobStore, newJobId, newJobRecord } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startRedisTopology } from '../helpers/redis-topology.js';
import { completeJob, readResults, storeResults } from '../helpers/store-helpers.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

async function newStore(options = {}) {
  const store = new JobStore(redis, createKeys(uniquePrefix('store')), options);
  const id = newJobId();
  await store.createJob({ id, name: 'primes', input: { from: 0, to: 10 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
  return { store, id };
}

describe('JobStore', () => {
  it('a deposed leader cannot start, advance or complete a job (fencing)', async () => {
    const { store, id } = await newStore();
    expect(await store.startJob(id, 5)).toMatchObject({ status: 'running', placed: 0 });
    await expect(store.recordSplit(id, 4, 10)).rejects.toMatchObject({ code: 'STALE_TERM' });
    await expect(completeJob(store, id, 3, { type: 'json', value: 1 }, 60)).rejects.toMatchObject({ code: 'STALE_TERM' });
    await expect(store.failJob(id, 4, { code: 'INTERNAL', message: 'x' })).rejects.toMatchObject({ code: 'STALE_TERM' });
    expect((await store.getJob(id))?.status).toBe('running');
    expect(await store.recordSplit(id, 6, 10)).toBe('running');
    expect((await store.getJob(id))?.progress.placed).toBe(10);
  });

  it('startJob returns the job as started and its type\'s task time, and leaves a job whose split ended as it is', async () => {
    const { store, id } = await newStore();
    const started = await store.startJob(id, 1);
    expect(started).toMatchObject({ status: 'running', placed: 0, taskMicros: undefined });
    expect(started.job).toMatchObject({ id, name: 'primes', status: 'running', input: { from: 0, to: 10 } });
    await storeResults(store, id, [[0, 1]], { jobType: 'primes', microsPerTask: 250 });
    await store.recordSplit(id, 1, 2, 2);
    const adoptions = await redis.hget(store.keys.job(id), 'adoptions');
    const again = await store.startJob(id, 2);
    expect(again).toMatchObject({ status: 'running', placed: 2, taskMicros: 250 });
    expect(again.job?.progress).toMatchObject({ total: 2, done: 1 });
    expect(await redis.hget(store.keys.job(id), 'adoptions')).toBe(adoptions); // a later term adopts nothing once the split ended
    expect(await store.startJob(newJobId(), 2)).toMatchObject({ status: 'missing', job: undefined });
  });

  it('newJobRecord is the record a creation stores, as read back (the leader splits from it where the API is in its process)', async () => {
    const store = new JobStore(redis, createKeys(uniquePrefix('store')));
    const now = Date.now();
    const jobs = [
      { id: newJobId(), name: 'primes', input: { from: 0, to: 10 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' as const },
      { id: newJobId(), name: 'mandelbrot', input: { width: 8, rows: [1, 2] }, options: { ...JOB_OPTION_DEFAULTS, retries: 3, batchSize: 7, callback: { url: 'https://example.com/hook' } }, resultType: 'image/png' as const, tenant: 'acme', version: 3, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', schedule: { id: 'nightly', tick: now - 1000 } },
    ];
    for (const job of jobs) {
      await store.createJob(job, { now });
      expect(newJobRecord(job, now)).toEqual(await store.getJob(job.id));
    }
  });

  it('createJob lists and indexes the job in one script, and with `reservedIn` creates nothing without that reservation', async () => {
    const store = new JobStore(redis, createKeys(uniquePrefix('store')));
    const k = store.keys;
    const refused = newJobId();
    const quota = `${k.prefix}:quota:tok-a`;
    await expect(store.createJob({ id: refused, name: 'primes', input: { label: 'zebra' }, options: JOB_OPTION_DEFAULTS, resultType: 'json' }, { reservedIn: quota })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(await redis.exists(k.job(refused), k.jobs, k.active, k.wake, k.jobsById, k.searchWord('zebra'))).toBe(0);
    const id = newJobId();
    await redis.zadd(quota, Date.now(), id);
    await store.createJob({ id, name: 'primes', input: { label: 'zebra' }, options: JOB_OPTION_DEFAULTS, resultType: 'json' }, { reservedIn: quota });
    expect(await redis.zscore(k.jobsById, id)).toBe('0');
    expect(await redis.sismember(k.searchWord('zebra'), id)).toBe(1);
    expect(await redis.ttl(k.searchWord('zebra'))).toBeGreaterThan(0);
    expect((await store.searchJobs('zebra', { limit: 10 })).jobs.map((j) => j.id)).toEqual([id]);
    expect(await redis.lrange(k.wake, 0, -1)).toEqual([`split:${id}`]);
  });

  it('the first result stored for a task wins; later ones are dropped and counted', async () => {
    const { store, id } = await newStore();
    await store.startJob(id, 1);
    expect(await storeResults(store, id, [[0, 'a'], [1, 'b']])).toEqual({ stored: 2, duplicates: 0, status: 'running' });
    expect(await storeResults(store, id, [[1, 'late'], [2, 'c']])).toEqual({ stored: 1, duplicates: 1, status: 'running' });
    // A batch whose lost tasks sit between its fresh ones, in no particular order (two threads' calls joined).
    expect(await storeResults(store, id, [[4, 'e'], [0, 'late'], [3, 'd'], [2, 'late'], [5, 'f']])).toEqual({ stored: 3, duplicates: 2, status: 'running' });
    await store.recordSplit(id, 1, 6, 6);
    expect(await readResults(store, id, 6)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    const job = await store.getJob(id);
    expect(job?.progress).toMatchObject({ total: 6, done: 6, duplicates: 3 });
  });

  it('runs of tasks claimed whole or task by task: each task is stored once, by the batch that claimed it first', async () => {
    const { store, id } = await newStore();
    await store.startJob(id, 1);
    const range = (from: number, to: number, tag: string) => Array.from({ length: to - from + 1 }, (_, k) => [from + k, `${tag}${from + k}`] as const);
    // Fresh runs, their ends off byte boundaries: claimed whole.
    expect(await storeResults(store, id, range(3, 202, 'a'))).toEqual({ stored: 200, duplicates: 0, status: 'running' });
    expect(await storeResults(store, id, range(405, 1000, 'b'))).toEqual({ stored: 596, duplicates: 0, status: 'running' });
    // A run overlapping a stored one on either side (a batch moved while its first copy ran): only its fresh tasks are stored.
    expect(await storeResults(store, id, range(150, 450, 'c'))).toEqual({ stored: 202, duplicates: 99, status: 'running' });
    // Several runs in one batch: fresh ones, long and short, and one all stored.
    expect(await storeResults(store, id, [...range(1001, 1100, 'd'), ...range(0, 2, 'd'), ...range(1101, 1200, 'd'), ...range(500, 600, 'd')]))
      .toEqual({ stored: 203, duplicates: 101, status: 'running' });
    await store.recordSplit(id, 1, 1201, 1201);
    const results = await readResults(store, id, 1201);
    const firstWriter = (i: number) => (i <= 2 || i > 1000 ? 'd' : i <= 202 ? 'a' : i <= 404 ? 'c' : 'b');
    expect(results).toEqual(Array.from({ length: 1201 }, (_, i) => `${firstWriter(i)}${i}`));
    // No bit set outside the tasks stored.
    expect(await redis.bitcount(store.keys.storedBits(id))).toBe(1201);
    expect((await store.getJob(id))?.progress).toMatchObject({ total: 1201, done: 1201, duplicates: 200 });
  });

  it('a run of tasks none of which is stored is claimed at once: the replica gets no command per task', async () => {
    const topology = await startRedisTopology({ replicas: 1 });
    const master = topology.initialMaster;
    try {
      await topology.waitForReplicas(master.port, 1);
      const store = new JobStore(topology.client(master.port), createKeys(uniquePrefix('store')), { minReplicas: 1 });
      const id = newJobId();
      await store.createJob({ id, name: 'primes', input: {}, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
      await store.startJob(id, 1);
      const replica = topology.client(topology.ports[1] as number);
      const before = await bitfieldCalls(replica);
      const tasks = Array.from({ length: 25_000 }, (_, i) => [i + 5, i] as const);
      expect(await storeResults(store, id, tasks)).toEqual({ stored: 25_000, duplicates: 0, status: 'running' });
      // One BITFIELD at most, for the bits at the run's two ends (task by task: 25 of 1,000 tasks each).
      expect((await bitfieldCalls(replica)) - before).toBeLessThanOrEqual(1);
      expect(await replica.bitcount(store.keys.storedBits(id))).toBe(25_000);
    } finally {
      await topology.stop();
    }
  });

  it('queues the reduce exactly once when the last result and the end of the split meet', async () => {
    const { store, id } = await newStore();
    await store.startJob(id, 1);
    await store.recordSplit(id, 1, 2, 2);
    await storeResults(store, id, [[0, 1]]);
    await storeResults(store, id, [[1, 1]]);
    await storeResults(store, id, [[1, 1]]);
    const wakes = await redis.lrange(store.keys.wake, 0, -1);
    expect(wakes).toEqual([`split:${id}`, `reduce:${id}`]);
  });

  it('a job\'s only entry, reduced by its worker, completes the job in the write that stores its results', async () => {
    const { store, id } = await newStore();
    const k = store.keys;
    await store.startJob(id, 1);
    const events = new Redis(inject('redisUrl'));
    try {
      await events.subscribe(k.events);
      const ended = new Promise<string>((resolve) => events.on('message', (_c: string, m: string) => resolve(m)));
      const from = { jobType: 'primes', node: 'w1', batch: { term: 1, lastIndex: 1 }, microsPerTask: 10 };
      expect(await store.results.storeResultJson(id, [[0, '2'], [1, '3']], from, { result: '5', ttlSec: 60 })).toEqual({ stored: 2, duplicates: 0, status: 'completed' });
      expect(await ended).toBe(`end:${id}`);
    } finally {
      events.disconnect();
    }
    const job = await store.getJob(id);
    expect(job).toMatchObject({ status: 'completed', progress: { total: 2, placed: 2, done: 2 }, tasksPerNode: { w1: 2 }, timing: { reducedOn: 'w1', runMicros: 20 } });
    expect(job?.finishedAt).toBeGreaterThan(0);
    expect(await store.results.getResult(id, 'json')).toEqual({ type: 'json', value: 5 });
    expect(await redis.ttl(k.jobResult(id))).toBeGreaterThan(0);
    expect(await redis.ttl(k.job(id))).toBeGreaterThan(0);
    expect(await redis.exists(k.results(id), k.storedBits(id))).toBe(0); // the task results are not kept
    expect(await store.activeJobIds()).not.toContain(id);
    // The scheduler's record of the split's end, arriving after, changes nothing and queues no reduce.
    expect(await store.recordSplit(id, 1, 2, 2)).toBe('completed');
    expect(await redis.lrange(k.wake, 0, -1)).toEqual([`split:${id}`]);
  });

  it('an entry claiming its whole job meets a result stored before: stored as usual, the scheduler reduces', async () => {
    const { store, id } = await newStore();
    await store.startJob(id, 1);
    await store.recordSplit(id, 1, 2, 2);
    await storeResults(store, id, [[0, 2]]);
    const from = { jobType: 'primes', node: 'w1', batch: { term: 1, lastIndex: 1 } };
    expect(await store.results.storeResultJson(id, [[0, '2'], [1, '3']], from, { result: '5', ttlSec: 60 })).toEqual({ stored: 1, duplicates: 1, status: 'running' });
    expect(await store.results.getResult(id, 'json')).toBeUndefined();
    expect(await readResults(store, id, 2)).toEqual([2, 3]);
    expect(await redis.lrange(store.keys.wake, 0, -1)).toEqual([`split:${id}`, `reduce:${id}`]);
  });

  it('a whole entry ends nothing for a cancelled job or from a stale term', async () => {
    const cancelled = await newStore();
    await cancelled.store.startJob(cancelled.id, 1);
    await cancelled.store.cancelJob(cancelled.id);
    const ending = { result: '1', ttlSec: 60 };
    expect(await cancelled.store.results.storeResultJson(cancelled.id, [[0, '1']], { jobType: 'primes', batch: { term: 1, lastIndex: 0 } }, ending)).toMatchObject({ stored: 0, status: 'cancelled' });
    expect(await cancelled.store.results.getResult(cancelled.id, 'json')).toBeUndefined();
    const { store, id } = await newStore();
    await store.startJob(id, 1);
    await store.startJob(id, 2); // a later leader adopts the job from task 0
    expect(await store.results.storeResultJson(id, [[0, '1']], { jobType: 'primes', batch: { term: 1, lastIndex: 0 } }, ending)).toMatchObject({ stored: 0, status: 'stale' });
    expect((await store.getJob(id))?.status).toBe('running');
    expect(await store.results.getResult(id, 'json')).toBeUndefined();
  });

  it('stores nothing for a cancelled job', async () => {
    const { store, id } = await newStore();
    await store.startJob(id, 1);
    expect(await store.cancelJob(id)).toBe('cancelled');
    expect(await storeResults(store, id, [[0, 1]])).toMatchObject({ stored: 0, status: 'cancelled' });
    expect(await store.cancelJob(id)).toBe('cancelled');
    expect(await store.activeJobIds()).not.toContain(id);
  });

  it('acknowledges a write once the replica confirms it, and refuses when too few replicas exist', async () => {
    // WAIT returns as soon as the replica confirms: a long timeout only spares a loaded machine a false NOT_REPLICATED.
    const { store, id } = await newStore({ minReplicas: 1, waitTimeoutMs: 30_000 });
    await store.startJob(id, 1);
    expect((await storeResults(store, id, [[0, 42]])).stored).toBe(1);
    const replica = new Redis(inject('redisReplicaUrl'));
    try {
      expect(await replica.hget(store.keys.results(id), '0')).toBe('{"i":"0","r":[42]}');
    } finally {
      replica.disconnect();
    }
    const strict = new JobStore(redis, store.keys, { minReplicas: 2, waitTimeoutMs: 200 });
    await expect(storeResults(strict, id, [[1, 43]])).rejects.toMatchObject({ code: 'NOT_REPLICATED' });
  });

  it('sends one WAIT per acknowledged write, right behind it (a second only when the script had to be resent)', async () => {
    const own = new Redis(inject('redisUrl'));
    // MONITOR over a plain socket (ioredis's monitor mode mistakes a busy shared server's first
    // lines for replies): each line names the client's address and the command.
    const url = new URL(inject('redisUrl'));
    const monitor = connect(Number(url.port), url.hostname);
    let lines = '';
    monitor.on('data', (chunk: Buffer) => (lines += chunk.toString('utf8')));
    monitor.write('MONITOR\r\n');
    try {
      const store = new JobStore(own, createKeys(uniquePrefix('store')), { minReplicas: 1, waitTimeoutMs: 30_000 });
      const id = newJobId();
      await store.createJob({ id, name: 'primes', input: { from: 0, to: 10 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
      await store.startJob(id, 1);
      const from = `${own.stream.localAddress}:${own.stream.localPort}]`;
      // Only what this connection sends after a marker the monitor has seen counts.
      await own.echo('count-from-here');
      while (!lines.includes('"count-from-here"')) await new Promise((r) => setTimeout(r, 10));
      lines = lines.slice(lines.indexOf('"count-from-here"'));
      // Each script and its WAIT leave in one socket write: every command is written while corked.
      const socket = own.stream;
      const write = socket.write.bind(socket);
      const corked: number[] = [];
      socket.write = ((chunk: unknown, ...rest: never[]) => {
        corked.push(socket.writableCorked);
        return write(chunk as never, ...rest);
      }) as typeof socket.write;
      await storeResults(store, id, [[0, 1]]);
      await store.recordSplit(id, 1, 2, 2);
      await storeResults(store, id, [[1, 1]]);
      await completeJob(store, id, 1, { type: 'json', value: 2 }, 60);
      socket.write = write;
      expect(corked).toHaveLength(8);
      expect(corked.every((c) => c > 0)).toBe(true);
      await own.ping(); // every command above reaches the monitor before this one
      const mine = () => lines.split('\n').filter((l) => l.includes(from)).map((l) => (/\] "([^"]+)"/.exec(l)?.[1] ?? '').toLowerCase());
      while (!mine().includes('ping')) await new Promise((r) => setTimeout(r, 10));
      const sent = mine().filter((c) => c !== 'ping' && c !== 'echo');
      // ioredis sends a script's first call on a connection as EVAL, later ones as EVALSHA.
      const scripts = sent.filter((c) => c === 'eval' || c === 'evalsha');
      expect(scripts).toHaveLength(4);
      expect(sent).toEqual(scripts.flatMap((c) => [c, 'wait']));
    } finally {
      monitor.destroy();
      own.disconnect();
    }
  });
});

/** How many BITFIELDs the Redis server has run, its replication stream's included (INFO commandstats). */
async function bitfieldCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_bitfield:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

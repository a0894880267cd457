// `npm run bench -- latency`: a one-task job, HTTP submit → result, sequentially; p50 and p99.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { defineScripts } from '../src/store/scripts.js';
import { hasFlag, numberFlag, startBenchCluster } from './harness.js';
import { redisCostPerJob, startRedisCost } from './redis-cost.js';
import { printTable, quantile, type BenchSuite } from './report.js';

const CLIENT = new URL('./workers/latency-client.mjs', import.meta.url);

type Ringpool = { invoked: number[]; polled: number[]; cpuMs: number };
type Baseline = { samples: number[]; cpuMs: number };

const suite: BenchSuite = async (args) => {
  const runs = numberFlag(args, 'runs', 1000);
  // Jobs before the timed ones, for the steady state of a service that has been up a while: V8
  // compiles the hot paths of every process and thread over the first thousand or so jobs (on
  // this machine the first 1,000 after start took ~0.5-1.3 ms more each, the extra CPU the
  // compiler's). Those first jobs' figure is printed too (`coldLatencyP50Ms`).
  const warmup = numberFlag(args, 'warmup', 1000);
  const cluster = await startBenchCluster();
  // The client is a process of its own, as a user's is: its HTTP work is not the node's.
  const client = fork(CLIENT, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await once(client, 'message');
    // --redis-stats: the master's CPU per command and per script, for the timed jobs (the slow
    // log records every command meanwhile, which costs a little time of its own).
    const stats = hasFlag(args, 'redis-stats') ? new Redis(cluster.redis.masterUrl) : undefined;
    const ask = async <T>(message: { runs: number; warmup?: number; url?: string; bullmq?: { redisUrl: string; queue: string } }): Promise<T> => {
      client.send(message);
      const [reply] = (await once(client, 'message')) as [T | { error: string }];
      if (typeof reply === 'object' && reply !== null && 'error' in reply) throw new Error(`latency client: ${reply.error}`);
      return reply as T;
    };
    // Each round is two jobs, one submitted and waited for in one request (how a caller that
    // wants the answer invokes a job), one submitted and then long-polled: in turn, so both ways
    // meet the same state of the node and the machine.
    const cold = await ask<Ringpool>({ url: cluster.url, runs: Math.ceil(warmup / 2) });
    if (stats !== undefined) await startRedisCost(stats);
    const cpu = process.cpuUsage();
    const timed = await ask<Ringpool>({ url: cluster.url, runs });
    const used = process.cpuUsage(cpu);
    // The slow log names scripts by SHA: the stats connection defines the node's scripts to know theirs.
    if (stats !== undefined) defineScripts(stats);
    const redisCost = stats === undefined ? undefined : await redisCostPerJob(stats, 2 * runs, [stats]);
    // The baseline, on the same Redis master: a raw BullMQ job added and awaited by the same
    // client process, its Worker (a trivial processor) in this one. No HTTP, no replication WAIT.
    const connection = new Redis(cluster.redis.masterUrl, { maxRetriesPerRequest: null });
    const queue = `latency-baseline-${Date.now()}`;
    const worker = new Worker(queue, async (job) => (job.data as { x: number }).x + 1, { connection });
    let bull: Baseline;
    try {
      await worker.waitUntilReady();
      bull = await ask<Baseline>({ runs, warmup, bullmq: { redisUrl: cluster.redis.masterUrl, queue } });
    } finally {
      await worker.close();
      connection.disconnect();
    }
    const ms = (n: number) => Number(n.toFixed(2));
    const coldAll = [...cold.invoked, ...cold.polled];
    const figures = {
      latencyP50Ms: ms(quantile(timed.invoked, 0.5)),
      latencyP99Ms: ms(quantile(timed.invoked, 0.99)),
      latencyMaxMs: ms(Math.max(...timed.invoked)),
      pollLatencyP50Ms: ms(quantile(timed.polled, 0.5)),
      pollLatencyP99Ms: ms(quantile(timed.polled, 0.99)),
      // The first jobs after the cluster started (the warm-up, both ways), timed.
      ...(coldAll.length > 0 ? { coldLatencyP50Ms: ms(quantile(coldAll, 0.5)), coldLatencyP99Ms: ms(quantile(coldAll, 0.99)) } : {}),
      runs,
      // The node's CPU (API, scheduler, worker and their threads), and the client's, per timed job.
      cpuMsPerJob: ms((used.user + used.system) / 1000 / (2 * runs)),
      clientCpuMsPerJob: ms(timed.cpuMs / (2 * runs)),
      bullmqLatencyP50Ms: ms(quantile(bull.samples, 0.5)),
      bullmqLatencyP99Ms: ms(quantile(bull.samples, 0.99)),
    };
    printTable(`latency: a one-task job, submit → result, ${runs} of each way in turn, after ${coldAll.length} to warm up`, [
      ['', 'p50 ms', 'p99 ms', 'max ms'],
      ['ringpool, submit and wait (POST /v1/jobs?wait=)', figures.latencyP50Ms, figures.latencyP99Ms, figures.latencyMaxMs],
      ['ringpool, submit then long-poll the result', figures.pollLatencyP50Ms, figures.pollLatencyP99Ms, ms(Math.max(...timed.polled))],
      ...(coldAll.length > 0 ? [[`ringpool, the first ${coldAll.length} after start, both ways`, figures.coldLatencyP50Ms ?? '', figures.coldLatencyP99Ms ?? '', ms(Math.max(...coldAll))] as const] : []),
      ['raw BullMQ (add → Worker → waitUntilFinished)', figures.bullmqLatencyP50Ms, figures.bullmqLatencyP99Ms, ms(Math.max(...bull.samples))],
    ]);
    console.log(`  ringpool: HTTP, Raft leader, every write acknowledged by the replica (WAIT); CPU per job: node ${figures.cpuMsPerJob} ms, client ${figures.clientCpuMsPerJob} ms`);
    console.log(`  raw BullMQ: no HTTP, no WAIT; client CPU per job ${ms(bull.cpuMs / runs)} ms`);
    if (stats !== undefined && redisCost !== undefined) {
      printTable('where the Redis master\'s time goes (ringpool\'s timed jobs, per job)', redisCost);
      stats.disconnect();
    }
    return figures;
  } finally {
    client.kill();
    await cluster.close();
  }
};

export default suite;

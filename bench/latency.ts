// `npm run bench -- latency`: a one-task job, HTTP submit → result, sequentially; p50 and p99.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { hasFlag, numberFlag, startBenchCluster } from './harness.js';
import { redisCostPerJob, startRedisCost } from './redis-cost.js';
import { printTable, quantile, type BenchSuite } from './report.js';

const CLIENT = new URL('./workers/latency-client.mjs', import.meta.url);

const suite: BenchSuite = async (args) => {
  const runs = numberFlag(args, 'runs', 1000);
  const cluster = await startBenchCluster();
  // The client is a process of its own, as a user's is: its HTTP work is not the node's.
  const client = fork(CLIENT, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await once(client, 'message');
    // --redis-stats: the master's CPU per command and per script, for the timed jobs (the slow
    // log records every command meanwhile, which costs a little time of its own).
    const stats = hasFlag(args, 'redis-stats') ? new Redis(cluster.redis.masterUrl) : undefined;
    /** The client's timed loop: ringpool's jobs, or (`bullmq`) the baseline's. */
    const ask = async (message: { runs: number; warmup: number; url?: string; bullmq?: { redisUrl: string; queue: string } }) => {
      client.send(message);
      const [reply] = (await once(client, 'message')) as [{ samples: number[]; cpuMs: number } | { error: string }];
      if ('error' in reply) throw new Error(`latency client: ${reply.error}`);
      return reply;
    };
    const run = (count: number, warmup: number) => ask({ url: cluster.url, runs: count, warmup });
    if (stats !== undefined) {
      await run(1, 20);
      await startRedisCost(stats);
    }
    const cpu = process.cpuUsage();
    const reply = await run(runs, stats === undefined ? 20 : 0);
    const used = process.cpuUsage(cpu);
    const { samples } = reply;
    // Read before the baseline runs on the same master.
    const redisCost = stats === undefined ? undefined : await redisCostPerJob(stats, runs, [cluster.node.store.redis]);
    // The baseline, on the same Redis master: a raw BullMQ job added and awaited by the same
    // client process, its Worker (a trivial processor) in this one. No HTTP, no replication WAIT.
    const connection = new Redis(cluster.redis.masterUrl, { maxRetriesPerRequest: null });
    const queue = `latency-baseline-${Date.now()}`;
    const worker = new Worker(queue, async (job) => (job.data as { x: number }).x + 1, { connection });
    let bull: { samples: number[]; cpuMs: number };
    try {
      await worker.waitUntilReady();
      bull = await ask({ runs, warmup: 20, bullmq: { redisUrl: cluster.redis.masterUrl, queue } });
    } finally {
      await worker.close();
      connection.disconnect();
    }
    const figures = {
      latencyP50Ms: Number(quantile(samples, 0.5).toFixed(2)),
      latencyP99Ms: Number(quantile(samples, 0.99).toFixed(2)),
      latencyMaxMs: Number(Math.max(...samples).toFixed(2)),
      runs,
      // CPU time of the node's process (API, scheduler, worker and their threads) per job, warm-up included.
      cpuMsPerJob: Number(((used.user + used.system) / 1000 / (runs + 20)).toFixed(2)),
      clientCpuMsPerJob: Number((reply.cpuMs / runs).toFixed(2)),
      bullmqLatencyP50Ms: Number(quantile(bull.samples, 0.5).toFixed(2)),
      bullmqLatencyP99Ms: Number(quantile(bull.samples, 0.99).toFixed(2)),
    };
    printTable(`latency: a one-task job, submit → result, ${runs} in a row`, [
      ['', 'p50 ms', 'p99 ms', 'max ms', 'node CPU ms/job', 'client CPU ms/job'],
      ['ringpool (HTTP, Raft leader, WAIT-acked writes)', figures.latencyP50Ms, figures.latencyP99Ms, figures.latencyMaxMs, figures.cpuMsPerJob, figures.clientCpuMsPerJob],
      ['raw BullMQ (add → Worker → waitUntilFinished)', figures.bullmqLatencyP50Ms, figures.bullmqLatencyP99Ms, Number(Math.max(...bull.samples).toFixed(2)), '', Number((bull.cpuMs / runs).toFixed(2))],
    ]);
    if (stats !== undefined && redisCost !== undefined) {
      printTable('where the Redis master\'s time goes (ringpool\'s jobs)', redisCost);
      stats.disconnect();
    }
    return figures;
  } finally {
    client.kill();
    await cluster.close();
  }
};

export default suite;

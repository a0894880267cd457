// `npm run bench -- latency`: a one-task job, HTTP submit → result, sequentially; p50 and p99.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { hasFlag, numberFlag, startBenchCluster } from './harness.js';
import { redisCostPerJob, startRedisCost } from './redis-cost.js';
import { printTable, quantile, type BenchSuite } from './report.js';

const CLIENT = new URL('./workers/latency-client.mjs', import.meta.url);

type Loop = { samples: number[]; cpuMs: number };

const suite: BenchSuite = async (args) => {
  const runs = numberFlag(args, 'runs', 1000);
  // Jobs before each timed loop, for the steady state of a service that has been up a while: V8
  // compiles the hot paths of every process and thread over the first thousand or so jobs (on
  // this machine the first 1,000 after start took ~0.5-1.3 ms more each, the extra CPU the
  // compiler's). The first loop's figure is printed too (`coldLatencyP50Ms`).
  const warmup = numberFlag(args, 'warmup', 1000);
  const cluster = await startBenchCluster();
  // The client is a process of its own, as a user's is: its HTTP work is not the node's.
  const client = fork(CLIENT, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await once(client, 'message');
    // --redis-stats: the master's CPU per command and per script, for the timed jobs (the slow
    // log records every command meanwhile, which costs a little time of its own).
    const stats = hasFlag(args, 'redis-stats') ? new Redis(cluster.redis.masterUrl) : undefined;
    /** The client's timed loop: ringpool's jobs (`poll`: submit, then long-poll), or (`bullmq`) the baseline's. */
    const ask = async (message: { runs: number; warmup: number; url?: string; poll?: boolean; bullmq?: { redisUrl: string; queue: string } }) => {
      client.send(message);
      const [reply] = (await once(client, 'message')) as [Loop | { error: string }];
      if ('error' in reply) throw new Error(`latency client: ${reply.error}`);
      return reply;
    };
    /** A loop after its warm-up (timed too), with the node's CPU (API, scheduler, worker and their threads) per job. */
    const timedOnNode = async (message: Parameters<typeof ask>[0]) => {
      const cold = message.warmup > 0 ? (await ask({ ...message, runs: message.warmup, warmup: 0 })).samples : [];
      const cpu = process.cpuUsage();
      const reply = await ask({ ...message, warmup: 0 });
      const used = process.cpuUsage(cpu);
      return { ...reply, cold, nodeCpuMs: (used.user + used.system) / 1000 / message.runs };
    };
    if (stats !== undefined) {
      await ask({ url: cluster.url, runs: 1, warmup });
      await startRedisCost(stats);
    }
    // Submit and wait, one request: how a caller that wants the answer invokes a job.
    const invoked = await timedOnNode({ url: cluster.url, runs, warmup: stats === undefined ? warmup : 0 });
    // Read before anything else runs on the same master.
    const redisCost = stats === undefined ? undefined : await redisCostPerJob(stats, runs, [cluster.node.store.redis]);
    // Submit, then long-poll the result: two requests.
    const polled = await timedOnNode({ url: cluster.url, runs, warmup, poll: true });
    // The baseline, on the same Redis master: a raw BullMQ job added and awaited by the same
    // client process, its Worker (a trivial processor) in this one. No HTTP, no replication WAIT.
    const connection = new Redis(cluster.redis.masterUrl, { maxRetriesPerRequest: null });
    const queue = `latency-baseline-${Date.now()}`;
    const worker = new Worker(queue, async (job) => (job.data as { x: number }).x + 1, { connection });
    let bull: Loop;
    try {
      await worker.waitUntilReady();
      bull = await ask({ runs, warmup, bullmq: { redisUrl: cluster.redis.masterUrl, queue } });
    } finally {
      await worker.close();
      connection.disconnect();
    }
    const ms = (n: number) => Number(n.toFixed(2));
    const figures = {
      latencyP50Ms: ms(quantile(invoked.samples, 0.5)),
      latencyP99Ms: ms(quantile(invoked.samples, 0.99)),
      latencyMaxMs: ms(Math.max(...invoked.samples)),
      // The same jobs as the first thousand or so after the cluster started: the warm-up, timed.
      ...(invoked.cold.length > 0 ? { coldLatencyP50Ms: ms(quantile(invoked.cold, 0.5)), coldLatencyP99Ms: ms(quantile(invoked.cold, 0.99)) } : {}),
      pollLatencyP50Ms: ms(quantile(polled.samples, 0.5)),
      pollLatencyP99Ms: ms(quantile(polled.samples, 0.99)),
      runs,
      cpuMsPerJob: ms(invoked.nodeCpuMs),
      clientCpuMsPerJob: ms(invoked.cpuMs / runs),
      bullmqLatencyP50Ms: ms(quantile(bull.samples, 0.5)),
      bullmqLatencyP99Ms: ms(quantile(bull.samples, 0.99)),
    };
    printTable(`latency: a one-task job, submit → result, ${runs} in a row after ${warmup} to warm up`, [
      ['', 'p50 ms', 'p99 ms', 'max ms', 'node CPU ms/job', 'client CPU ms/job'],
      ['ringpool, submit and wait (POST /v1/jobs?wait=)', figures.latencyP50Ms, figures.latencyP99Ms, figures.latencyMaxMs, figures.cpuMsPerJob, figures.clientCpuMsPerJob],
      ...(invoked.cold.length > 0 ? [[`  the same, the first ${warmup} after start`, figures.coldLatencyP50Ms ?? '', figures.coldLatencyP99Ms ?? '', ms(Math.max(...invoked.cold)), '', ''] as const] : []),
      ['ringpool, submit then long-poll the result', figures.pollLatencyP50Ms, figures.pollLatencyP99Ms, ms(Math.max(...polled.samples)), ms(polled.nodeCpuMs), ms(polled.cpuMs / runs)],
      ['raw BullMQ (add → Worker → waitUntilFinished)', figures.bullmqLatencyP50Ms, figures.bullmqLatencyP99Ms, ms(Math.max(...bull.samples)), '', ms(bull.cpuMs / runs)],
    ]);
    console.log('  ringpool: HTTP, Raft leader, every write acknowledged by the replica (WAIT); BullMQ: no HTTP, no WAIT');
    if (stats !== undefined && redisCost !== undefined) {
      printTable('where the Redis master\'s time goes (ringpool\'s jobs, submit and wait)', redisCost);
      stats.disconnect();
    }
    return figures;
  } finally {
    client.kill();
    await cluster.close();
  }
};

export default suite;

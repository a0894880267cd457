// `npm run bench -- throughput`: trivial tasks end to end through ringpool vs raw BullMQ on the same Redis.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startBenchCluster, numberFlag } from './harness.js';
import { printTable, type BenchSuite } from './report.js';

const suite: BenchSuite = async (args) => {
  const tasks = numberFlag(args, 'tasks', 1_000_000);
  const bullJobs = numberFlag(args, 'bullmq-jobs', 100_000);
  const cluster = await startBenchCluster();
  try {
    // Warm-up: measures the task time of the type, so the real run batches from its start.
    await cluster.wait(await cluster.submit('increment', { tasks: 20_000 }));
    // CPU spent on the job, by this process (every thread of the node) and by Redis (master and
    // replica): on a shared machine time swings with the neighbours' load, the CPU a job costs much less.
    const redisBefore = await redisCpuSeconds(cluster.redis);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const id = await cluster.submit('increment', { tasks });
    const job = await cluster.wait(id, 50);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const nodeCpuSec = (cpu.user + cpu.system) / 1e6;
    const redisCpuSec = (await redisCpuSeconds(cluster.redis)) - redisBefore;
    if (job.status !== 'completed') throw new Error(`ringpool job ${job.status}: ${JSON.stringify(job.error)}`);
    const expected = (tasks * (tasks + 1)) / 2;
    const sum = await cluster.result(id);
    if (sum !== expected) throw new Error(`wrong sum ${String(sum)}, expected ${expected}`);
    const tasksPerSec = tasks / seconds;

    const bullmqJobsPerSec = await rawBullmq(cluster.redis.masterUrl, bullJobs);
    const figures = {
      tasksPerSec: Math.round(tasksPerSec),
      bullmqJobsPerSec: Math.round(bullmqJobsPerSec),
      throughputRatio: Number((tasksPerSec / bullmqJobsPerSec).toFixed(2)),
      tasks,
      bullJobs,
      nodeCpuSec: Number(nodeCpuSec.toFixed(2)),
      redisCpuSec: Number(redisCpuSec.toFixed(2)),
    };
    printTable('throughput: trivial tasks (x → x+1), end to end', [
      ['', 'items', 'seconds', 'per second'],
      ['ringpool (HTTP submit → reduced result, WAIT-acked)', tasks, seconds.toFixed(2), figures.tasksPerSec],
      ['raw BullMQ (1 Worker, concurrency 50, consume only)', bullJobs, (bullJobs / bullmqJobsPerSec).toFixed(2), figures.bullmqJobsPerSec],
      ['ratio', '', '', `${figures.throughputRatio}×`],
    ]);
    console.log(`ringpool job CPU: node ${figures.nodeCpuSec} s (all its threads), Redis ${figures.redisCpuSec} s (master and replica)`);
    return figures;
  } finally {
    await cluster.close();
  }
};

/** CPU seconds used so far by the master and the replica (INFO cpu). */
async function redisCpuSeconds(pair: { readonly masterUrl: string; readonly replicaUrl: string }): Promise<number> {
  let sum = 0;
  for (const url of [pair.masterUrl, pair.replicaUrl]) {
    const redis = new Redis(url);
    try {
      const info = await redis.info('cpu');
      for (const field of ['used_cpu_sys', 'used_cpu_user']) sum += Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    } finally {
      redis.disconnect();
    }
  }
  return sum;
}

/** BullMQ's own best case: addBulk, then one Worker with concurrency 50 and a trivial processor. */
async function rawBullmq(url: string, jobs: number): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const name = `raw-${Date.now()}`;
  const queue = new Queue(name, { connection });
  for (let i = 0; i < jobs; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ name: 'inc', data: { x: i + k }, opts: { removeOnComplete: true } })));
  }
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const started = performance.now();
  const worker = new Worker(name, async (job) => (job.data as { x: number }).x + 1, { connection, concurrency: 50 });
  worker.on('completed', () => {
    if (++done === jobs) finish();
  });
  await finished;
  const perSec = jobs / ((performance.now() - started) / 1000);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return perSec;
}

export default suite;

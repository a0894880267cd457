// `npm run bench -- speedup`: CPU-heavy `primes` tasks — serial loop, raw piscina, BullMQ sandboxed, ringpool.
import { availableParallelism } from 'node:os';
import { Queue, Worker, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { Piscina } from 'piscina';
import primes from '../jobs/primes.js';
import { numberFlag, startBenchCluster } from './harness.js';
import { printTable, type BenchSuite } from './report.js';

const THREAD = new URL('./workers/primes-thread.mjs', import.meta.url).href;
const ctx = { signal: new AbortController().signal, jobId: 'bench', taskIndex: 0, attempt: 0, progress() {} };

const suite: BenchSuite = async (args) => {
  const taskCount = numberFlag(args, 'tasks', 40);
  const targetMs = numberFlag(args, 'task-ms', 50);
  const cores = availableParallelism();
  const input = calibrate(taskCount, targetMs);
  const tasks = [...(primes.split(input) as Iterable<{ from: number; to: number }>)];

  // 1. Serial loop on the main thread.
  let t = performance.now();
  let expected = 0;
  for (const task of tasks) expected += (await primes.run(task, ctx)) as number;
  const serialMs = performance.now() - t;

  // 2. Raw piscina, one thread per core, one task per call.
  const pool = new Piscina({ filename: THREAD, minThreads: cores, maxThreads: cores });
  await Promise.all(Array.from({ length: cores }, () => pool.run(tasks[0]))); // threads up and warm
  t = performance.now();
  const piscinaSum = (await Promise.all(tasks.map((task) => pool.run(task)))).reduce((a: number, b: number) => a + b, 0);
  const piscinaMs = performance.now() - t;
  await pool.destroy();

  const cluster = await startBenchCluster({ threads: cores });
  try {
    // 3. BullMQ with a sandboxed processor in worker threads, concurrency = cores.
    const bullmqMs = await bullmqSandboxed(cluster.redis.masterUrl, tasks, cores, expected);

    // 4. ringpool end to end: HTTP submit → reduced result, after a warm-up job with a task for
    // every thread (as piscina's threads were warmed above: each thread loads the module once).
    await cluster.wait(await cluster.submit('primes', { ...input, to: input.from + input.chunk * cores * 2 }));
    t = performance.now();
    const id = await cluster.submit('primes', input);
    const res = await fetch(`${cluster.url}/v1/jobs/${id}/result?wait=30000`);
    const ringpoolMs = performance.now() - t;
    const body = (await res.json()) as { result?: number };
    const answer = body.result;
    if (answer === undefined) throw new Error(`ringpool answered ${res.status} ${JSON.stringify(body)}`);
    if (answer !== expected || piscinaSum !== expected) throw new Error(`wrong counts: ringpool ${answer}, piscina ${piscinaSum}, serial ${expected}`);

    const eff = (ms: number) => Number((serialMs / (ms * cores)).toFixed(3));
    const figures = {
      efficiency: eff(ringpoolMs),
      ringpoolOverPiscina: Number((ringpoolMs / piscinaMs).toFixed(3)),
      serialMs: Math.round(serialMs),
      piscinaMs: Math.round(piscinaMs),
      bullmqMs: Math.round(bullmqMs),
      ringpoolMs: Math.round(ringpoolMs),
      piscinaEfficiency: eff(piscinaMs),
      bullmqEfficiency: eff(bullmqMs),
      cores,
      tasks: tasks.length,
    };
    printTable(`speedup: primes as ${tasks.length} tasks of ~${Math.round(serialMs / tasks.length)} ms on ${cores} cores (efficiency = serial / (time × cores))`, [
      ['', 'ms', 'efficiency'],
      ['serial loop (main thread)', figures.serialMs, 1],
      ['raw piscina (1 thread/core)', figures.piscinaMs, figures.piscinaEfficiency],
      ['BullMQ sandboxed (useWorkerThreads)', figures.bullmqMs, figures.bullmqEfficiency],
      ['ringpool end to end (HTTP → result)', figures.ringpoolMs, figures.efficiency],
      ['ringpool / piscina time', figures.ringpoolOverPiscina, ''],
    ]);
    return figures;
  } finally {
    await cluster.close();
  }
};

/** A range near 10^11 split in `count` tasks of about `targetMs` each on this machine. */
function calibrate(count: number, targetMs: number): { from: number; to: number; chunk: number } {
  const from = 100_000_000_000;
  let chunk = 1_000_000;
  for (let i = 0; i < 4; i++) {
    const started = performance.now();
    void primes.run({ from, to: from + chunk }, ctx);
    const ms = performance.now() - started;
    chunk = Math.max(10_000, Math.round((chunk * targetMs) / Math.max(1, ms)));
  }
  return { from, to: from + chunk * count, chunk };
}

async function bullmqSandboxed(url: string, tasks: ReadonlyArray<{ from: number; to: number }>, cores: number, expected: number): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const name = `speedup-${Date.now()}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection: connection.duplicate() });
  const worker = new Worker(name, THREAD.replace('file://', ''), { connection, concurrency: cores, useWorkerThreads: true });
  await worker.waitUntilReady();
  await events.waitUntilReady();
  // Warm-up: one job per thread, so thread start-up is not timed.
  await Promise.all(Array.from({ length: cores }, async (_, i) => (await queue.add('warm', tasks[0], { jobId: `warm-${i}` })).waitUntilFinished(events)));
  const started = performance.now();
  const jobs = await queue.addBulk(tasks.map((task) => ({ name: 'primes', data: task })));
  const counts = (await Promise.all(jobs.map((j) => j.waitUntilFinished(events)))) as number[];
  const ms = performance.now() - started;
  if (counts.reduce((a, b) => a + b, 0) !== expected) throw new Error('BullMQ counted wrong');
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return ms;
}

export default suite;

// `npm run bench -- speedup`: CPU-heavy `primes` tasks — serial loop, raw piscina, BullMQ sandboxed, ringpool.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Queue, Worker, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { Piscina } from 'piscina';
import { blobReader } from '../src/blobs/open.js';
import primes from '../jobs/primes.js';
import { numberFlag, startBenchCluster, stringFlag } from './harness.js';
import { printTable, type BenchSuite } from './report.js';

/**
 * How the baselines load the job module. `tsx-esm` (default): through tsx's ESM hook, as a piscina
 * user running TypeScript with tsx would. `ringpool`: as ringpool's task threads do (tsx's
 * CommonJS hook, thread-modules.ts), so every contender runs the same build of the module: a
 * cross-check that the ratio measures the pools, not the loaders (with the CPU column, it found
 * ringpool's threads inheriting this process's `--import tsx`; import-module.ts threadExecArgv).
 */
const THREADS = {
  'tsx-esm': new URL('./workers/primes-thread.mjs', import.meta.url),
  ringpool: new URL('./workers/primes-thread.cjs', import.meta.url),
} as const;
type ModuleLoader = keyof typeof THREADS;
const SERIAL = new URL('./workers/serial-loop.mjs', import.meta.url);
const ctx = { signal: new AbortController().signal, jobId: 'bench', taskIndex: 0, attempt: 0, progress() {}, log() {}, blobs: blobReader(undefined), cache: async <T>(_key: string, load: () => T | Promise<T>) => await load() };

const suite: BenchSuite = async (args) => {
  const taskCount = numberFlag(args, 'tasks', 40);
  const targetMs = numberFlag(args, 'task-ms', 50);
  const rounds = numberFlag(args, 'rounds', 7);
  const loader = stringFlag(args, 'module-loader', 'tsx-esm');
  if (!(loader in THREADS)) throw new Error(`--module-loader must be one of ${Object.keys(THREADS).join(', ')}, got ${JSON.stringify(loader)}`);
  const thread = THREADS[loader as ModuleLoader];
  const cores = availableParallelism();
  const input = calibrate(taskCount, targetMs);
  const tasks = [...(primes.split(input, { blobs: blobReader(undefined), log: () => {} }) as Iterable<{ from: number; to: number }>)];

  // Every contender is set up and warmed first (threads started, each has loaded the module), and
  // an untimed round runs them all once; then each round times all four back to back, in a
  // rotating order, so a slower or faster stretch of this shared machine lands on all of them
  // alike. Ratios are taken within a round. The serial loop runs on the main thread of a process
  // of its own: this one's event loop hosts the ringpool node (and must keep its heartbeats).
  const serial = await serialProcess(thread);
  const pool = new Piscina({ filename: thread.href, minThreads: cores, maxThreads: cores });
  await Promise.all(Array.from({ length: cores }, () => pool.run(tasks[0])));
  const cluster = await startBenchCluster({ threads: cores });
  const bullmq = await bullmqSandboxed(cluster.redis.masterUrl, thread, tasks, cores);
  try {
    // A warm-up job with a call for every thread, as the piscina threads were warmed above.
    await cluster.wait(await cluster.submit('primes', { ...input, to: input.from + input.chunk * cores * 2 }));
    // CPU: the serial process's; for the others this process's (its task threads, and the ringpool
    // node on its event loop, idle but for ringpool's own run): the task code's speed shows here.
    const inProcess = (run: () => Promise<{ ms: number; sum: number }>) => async () => {
      const cpu = process.cpuUsage();
      const { ms, sum } = await run();
      const used = process.cpuUsage(cpu);
      return { ms, sum, cpuMs: (used.user + used.system) / 1000 };
    };
    const contenders: Record<Contender, () => Promise<{ ms: number; sum: number; cpuMs: number }>> = {
      serial: () => serial.run(tasks),
      piscina: inProcess(async () => {
        const t = performance.now();
        const counts = (await Promise.all(tasks.map((task) => pool.run(task)))) as number[];
        return { ms: performance.now() - t, sum: counts.reduce((a, b) => a + b, 0) };
      }),
      bullmq: inProcess(() => bullmq.run()),
      ringpool: inProcess(async () => {
        const t = performance.now();
        const id = await cluster.submit('primes', input);
        const res = await fetch(`${cluster.url}/v1/jobs/${id}/result?wait=30000`);
        const ms = performance.now() - t;
        const body = (await res.json()) as { result?: number };
        if (body.result === undefined) throw new Error(`ringpool answered ${res.status} ${JSON.stringify(body)}`);
        return { ms, sum: body.result };
      }),
    };
    const order = Object.keys(contenders) as Contender[];
    const expected = (await contenders.serial()).sum;
    for (const name of order) if ((await contenders[name]()).sum !== expected) throw new Error(`${name} counted wrong in the warm-up round`);
    const times: Record<Contender, number[]> = { serial: [], piscina: [], bullmq: [], ringpool: [] };
    const cpu: Record<Contender, number[]> = { serial: [], piscina: [], bullmq: [], ringpool: [] };
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < order.length; k++) {
        const name = order[(k + round) % order.length] as Contender;
        const { ms, sum, cpuMs } = await contenders[name]();
        if (sum !== expected) throw new Error(`${name} counted ${sum} primes, the serial loop ${expected}`);
        times[name].push(ms);
        cpu[name].push(cpuMs);
      }
    }
    const perRound = (f: (r: number) => number) => Array.from({ length: rounds }, (_, r) => f(r));
    const eff = (name: Contender) => median(perRound((r) => (times.serial[r] as number) / ((times[name][r] as number) * cores)));
    const over = perRound((r) => (times.ringpool[r] as number) / (times.piscina[r] as number));
    const figures = {
      efficiency: round3(eff('ringpool')),
      ringpoolOverPiscina: round3(median(over)),
      ringpoolOverPiscinaRounds: over.map(round3).join(' '),
      serialMs: Math.round(median(times.serial)),
      piscinaMs: Math.round(median(times.piscina)),
      bullmqMs: Math.round(median(times.bullmq)),
      ringpoolMs: Math.round(median(times.ringpool)),
      piscinaEfficiency: round3(eff('piscina')),
      bullmqEfficiency: round3(eff('bullmq')),
      serialCpuMs: Math.round(median(cpu.serial)),
      piscinaCpuMs: Math.round(median(cpu.piscina)),
      bullmqCpuMs: Math.round(median(cpu.bullmq)),
      ringpoolCpuMs: Math.round(median(cpu.ringpool)),
      moduleLoader: loader,
      cores,
      tasks: tasks.length,
      rounds,
    };
    printTable(`speedup: primes as ${tasks.length} tasks of ~${Math.round(figures.serialMs / tasks.length)} ms on ${cores} cores, median of ${rounds} rounds (efficiency = serial / (time × cores), per round; job module loaded by: ${loader})`, [
      ['', 'ms (median)', 'efficiency', 'CPU ms (median)', 'per round, ms'],
      ['serial loop (main thread)', figures.serialMs, 1, figures.serialCpuMs, times.serial.map(Math.round).join(' ')],
      ['raw piscina (1 thread/core)', figures.piscinaMs, figures.piscinaEfficiency, figures.piscinaCpuMs, times.piscina.map(Math.round).join(' ')],
      ['BullMQ sandboxed (useWorkerThreads)', figures.bullmqMs, figures.bullmqEfficiency, figures.bullmqCpuMs, times.bullmq.map(Math.round).join(' ')],
      ['ringpool end to end (HTTP → result)', figures.ringpoolMs, figures.efficiency, figures.ringpoolCpuMs, times.ringpool.map(Math.round).join(' ')],
      ['ringpool / piscina time (same round)', figures.ringpoolOverPiscina, '', '', figures.ringpoolOverPiscinaRounds],
    ]);
    return figures;
  } finally {
    serial.close();
    await bullmq.close();
    await pool.destroy();
    await cluster.close();
  }
};

/**
 * A child process that runs the tasks serially on its main thread when asked, through the
 * baselines' `worker` module. Without this process's `--import tsx`; with its condition that makes
 * jobs/primes.ts's `ringpool/sdk` the repo's source (package.json `exports`).
 */
async function serialProcess(worker: URL) {
  const child: ChildProcess = fork(SERIAL, [worker.href], { execArgv: ['--conditions=ringpool-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'message');
  return {
    async run(tasks: ReadonlyArray<{ from: number; to: number }>): Promise<{ ms: number; sum: number; cpuMs: number }> {
      child.send(tasks);
      const [reply] = (await once(child, 'message')) as [{ ms: number; sum: number; cpuMs: number }];
      return reply;
    },
    close: () => child.kill(),
  };
}

type Contender = 'serial' | 'piscina' | 'bullmq' | 'ringpool';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function round3(n: number): number {
  return Number(n.toFixed(3));
}

/**
 * A range near 10^11 split in `count` tasks of about `targetMs` each on this machine: the chunk is
 * rescaled from the median of three timed runs, three times over, after the JIT has warmed up.
 */
function calibrate(count: number, targetMs: number): { from: number; to: number; chunk: number } {
  const from = 100_000_000_000;
  let chunk = 1_000_000;
  for (let i = 0; i < 5; i++) void primes.run({ from, to: from + chunk }, ctx);
  for (let step = 0; step < 3; step++) {
    const samples = Array.from({ length: 3 }, () => {
      const started = performance.now();
      void primes.run({ from, to: from + chunk }, ctx);
      return performance.now() - started;
    });
    chunk = Math.max(10_000, Math.round((chunk * targetMs) / Math.max(1, median(samples))));
  }
  return { from, to: from + chunk * count, chunk };
}

/** BullMQ with a sandboxed processor in worker threads, concurrency = cores, warmed up: each run adds the tasks in bulk and waits for every one. */
async function bullmqSandboxed(url: string, processor: URL, tasks: ReadonlyArray<{ from: number; to: number }>, cores: number) {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const name = `speedup-${Date.now()}`;
  const queue = new Queue(name, { connection });
  queue.setMaxListeners(0); // waitUntilFinished listens on the queue once per job
  const events = new QueueEvents(name, { connection: connection.duplicate() });
  const worker = new Worker(name, fileURLToPath(processor), { connection, concurrency: cores, useWorkerThreads: true });
  await worker.waitUntilReady();
  await events.waitUntilReady();
  // Warm-up: one job per thread, so thread start-up is not timed.
  await Promise.all(Array.from({ length: cores }, async (_, i) => (await queue.add('warm', tasks[0], { jobId: `warm-${i}` })).waitUntilFinished(events)));
  return {
    async run(): Promise<{ ms: number; sum: number }> {
      const started = performance.now();
      const jobs = await queue.addBulk(tasks.map((task) => ({ name: 'primes', data: task, opts: { removeOnComplete: true } })));
      const counts = (await Promise.all(jobs.map((j) => j.waitUntilFinished(events)))) as number[];
      return { ms: performance.now() - started, sum: counts.reduce((a, b) => a + b, 0) };
    },
    async close(): Promise<void> {
      await worker.close();
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    },
  };
}

export default suite;

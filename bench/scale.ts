// `npm run bench -- scale`: a 1,000,000-task job across separate ringpool processes; peak RSS and Redis memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { BENCH_JOBS, numberFlag, startTrackedRedis, stringFlag } from './harness.js';
import { printTable, type BenchSuite } from './report.js';

const BIN = fileURLToPath(new URL('../bin/ringpool.mjs', import.meta.url));

/** CPU a process has used so far (user + system), seconds: the same work's cost, less noisy than wall time on a shared machine. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** Peak resident set of a process (VmHWM), MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const suite: BenchSuite = async (args) => {
  const tasks = numberFlag(args, 'tasks', 1_000_000);
  // `--node-options '--max-semi-space-size=4'`: Node options for the three processes, to measure a
  // heap setting against the defaults (docs/performance.md, `scale`); none by default.
  const nodeOptions = stringFlag(args, 'node-options', '').split(' ').filter(Boolean);
  const { redis, dir, stop: stopRedis } = await startTrackedRedis('scale');
  const common = ['--redis', redis.masterUrl, '--jobs', BENCH_JOBS, '--prefix', 'scale', '--min-replicas', '1', '--log-level', 'warn'];
  const procs: Record<string, ChildProcess> = {};
  const start = (role: string, extra: string[]) => (procs[role] = spawn(process.execPath, [...nodeOptions, BIN, role, ...common, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] }));
  try {
    start('scheduler', ['--port', '0', '--data-dir', dir]);
    start('worker', ['--worker-id', 'w1', '--port', '0']);
    const api = start('api', ['--port', '0']);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      api.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /running at (http:\S+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      api.once('exit', () => reject(new Error('api exited')));
    });
    const client = new Redis(redis.masterUrl);
    let redisPeak = 0;
    const sampler = setInterval(() => {
      void client.info('memory').then((info) => {
        const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
        redisPeak = Math.max(redisPeak, used);
      });
    }, 100);
    // Wait for the worker to register, then run the job.
    for (;;) {
      const view = (await (await fetch(`${url}/v1/cluster`)).json()) as { workers: unknown[] };
      if (view.workers.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = performance.now();
    const { id } = (await (await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'increment', input: { tasks } }) })).json()) as { id: string };
    let result: unknown;
    for (;;) {
      const res = await fetch(`${url}/v1/jobs/${id}/result?wait=30000`);
      const body = (await res.json()) as { result?: unknown; error?: { details?: { status?: string } } };
      if (res.ok) {
        result = body.result;
        break;
      }
      if (body.error?.details?.status === 'failed') throw new Error(`job failed: ${JSON.stringify(body)}`);
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    if (result !== (tasks * (tasks + 1)) / 2) throw new Error(`wrong sum ${String(result)}`);
    const rss = Object.fromEntries(Object.entries(procs).map(([role, p]) => [role, peakRssMb(p.pid as number)]));
    const cpu = Object.fromEntries(Object.entries(procs).map(([role, p]) => [role, cpuSeconds(p.pid as number)]));
    client.disconnect();
    const figures = {
      peakRssMb: Math.round(Math.max(...Object.values(rss))),
      schedulerPeakRssMb: Math.round(rss.scheduler ?? NaN),
      workerPeakRssMb: Math.round(rss.worker ?? NaN),
      apiPeakRssMb: Math.round(rss.api ?? NaN),
      redisPeakMb: Math.round(redisPeak / 1024 / 1024),
      schedulerCpuS: cpu.scheduler ?? NaN,
      workerCpuS: cpu.worker ?? NaN,
      apiCpuS: cpu.api ?? NaN,
      tasks,
      seconds: Number(seconds.toFixed(2)),
      nodeOptions: nodeOptions.join(' '),
    };
    printTable(`scale: one job of ${tasks.toLocaleString('en-US')} tasks, separate processes${nodeOptions.length > 0 ? ` (node ${nodeOptions.join(' ')})` : ''} (target: peakRssMb ≤ 130, Redis < 500 MB)`, [
      ['process', 'peak RSS MB'],
      ['largest (peakRssMb)', figures.peakRssMb],
      ['scheduler', figures.schedulerPeakRssMb],
      ['worker (+2 threads)', figures.workerPeakRssMb],
      ['api', figures.apiPeakRssMb],
      ['redis used_memory peak', figures.redisPeakMb],
      ['job seconds', figures.seconds],
      ['CPU s scheduler / worker / api (start to result)', `${figures.schedulerCpuS} / ${figures.workerCpuS} / ${figures.apiCpuS}`],
    ]);
    return figures;
  } finally {
    for (const p of Object.values(procs)) p.kill('SIGTERM');
    await Promise.all(Object.values(procs).map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    await stopRedis();
  }
};

export default suite;

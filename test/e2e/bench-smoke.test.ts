// The #9 benchmarks run end to end at a small size: each starts its own Redis pair and ringpool,
// runs its baselines beside it, checks its own answers (the speedup bench throws when a contender
// counts a different number of primes) and prints the JSON keys docs/performance.md reports.
// Figures are not asserted: on a shared machine they are the benchmark runs' to show, not a test's.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `npm run bench -- <suite> --json ...args` as the README says, returns the JSON it printed last. */
function bench(suite: string, args: readonly string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=ringpool-source', '--import', 'tsx', 'bench/run.ts', suite, '--json', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`bench ${suite} exited ${code}:\n${err}\n${out}`));
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`bench ${suite} printed no JSON last:\n${out}\n${err}`));
      }
    });
  });
}

const positive = expect.any(Number) as unknown;

describe('benchmarks (#9), small and fixed', () => {
  it('speedup: serial, raw piscina, BullMQ and ringpool count the same primes; ratios and CPU per contender', async () => {
    const figures = await bench('speedup', ['--tasks', '4', '--task-ms', '5', '--rounds', '2']);
    expect(figures).toMatchObject({ efficiency: positive, ringpoolOverPiscina: positive, piscinaCpuMs: positive, ringpoolCpuMs: positive, moduleLoader: 'tsx-esm', tasks: 4, rounds: 2 });
    for (const key of ['efficiency', 'ringpoolOverPiscina', 'serialMs', 'ringpoolMs']) expect(figures[key] as number, key).toBeGreaterThan(0);
  }, 120_000);

  it('speedup with the baselines loading the module as ringpool does', async () => {
    const figures = await bench('speedup', ['--tasks', '4', '--task-ms', '5', '--rounds', '1', '--module-loader', 'ringpool']);
    expect(figures).toMatchObject({ efficiency: positive, ringpoolOverPiscina: positive, moduleLoader: 'ringpool' });
  }, 120_000);

  it('speedup refuses a module loader it does not know, naming the ones it has', async () => {
    await expect(bench('speedup', ['--tasks', '2', '--module-loader', 'babel'])).rejects.toThrow(/--module-loader must be one of tsx-esm, ringpool, got "babel"/);
  }, 60_000);

  it('throughput: tasks/s for ringpool and jobs/s for raw BullMQ, and their ratio', async () => {
    const figures = await bench('throughput', ['--tasks', '5000', '--bullmq-jobs', '500']);
    expect(figures).toMatchObject({ tasksPerSec: positive, bullmqJobsPerSec: positive, throughputRatio: positive, tasks: 5000, bullJobs: 500 });
    expect(figures.tasksPerSec as number).toBeGreaterThan(0);
  }, 120_000);

  it('latency: p50 ≤ p99 for one-task jobs', async () => {
    const figures = await bench('latency', ['--runs', '20', '--warmup', '5']);
    expect(figures).toMatchObject({ latencyP50Ms: positive, latencyP99Ms: positive });
    expect(figures.latencyP50Ms as number).toBeLessThanOrEqual(figures.latencyP99Ms as number);
  }, 120_000);

  it('scale: peak RSS of each ringpool process and Redis used_memory peak', async () => {
    const figures = await bench('scale', ['--tasks', '20000']);
    expect(figures).toMatchObject({ peakRssMb: positive, schedulerPeakRssMb: positive, workerPeakRssMb: positive, apiPeakRssMb: positive, workerCpuS: positive, redisPeakMb: positive });
    // The key #26 reads is the largest of the three processes.
    expect(figures.peakRssMb).toBe(Math.max(figures.schedulerPeakRssMb as number, figures.workerPeakRssMb as number, figures.apiPeakRssMb as number));
  }, 180_000);

  it('deploy: a deployed version serves on every node with no restart, and jobs across deploys run their own version', async () => {
    const figures = await bench('deploy', ['--rounds', '1', '--seconds', '3']);
    expect(figures).toMatchObject({ deployToServingMs: positive, jobsWrongVersion: 0, jobsFailed: 0, restartsNeeded: 0 });
    expect(figures.jobsAcrossDeploys as number).toBeGreaterThan(0);
  }, 180_000);
});

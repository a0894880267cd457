// `--repeat N`: a suite run N times, each in a fresh process, and the median of every numeric figure.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { printTable } from './report.js';

type Figures = Record<string, number | string | boolean | null>;

/**
 * Runs `bench/run.ts <suite> <args> --json` `runs` times one after the other (each its own process,
 * so no run inherits another's JIT, heap or Redis), prints each run's figures side by side with their
 * median, and returns the medians with every run's figures under `each`. Any run failing fails all:
 * a median of the runs that happened to pass would hide it.
 */
export async function repeatSuite(suite: string, args: readonly string[], runs: number): Promise<Record<string, unknown>> {
  const each: Figures[] = [];
  for (let i = 0; i < runs; i++) {
    console.error(`\n${suite}: run ${i + 1} of ${runs}`);
    each.push(await runOnce(suite, args));
  }
  const medians = medianFigures(each);
  const keys = Object.keys(medians);
  printTable(`${suite}: ${runs} runs and their median`, [['figure', ...each.map((_, i) => `run ${i + 1}`), 'median'], ...keys.map((k) => [k, ...each.map((f) => show(f[k])), show(medians[k])])]);
  return { ...medians, repeat: runs, each };
}

/** Median of each figure that is a number in every run; a figure that is not keeps the first run's value. */
export function medianFigures(each: readonly Figures[]): Figures {
  const out: Figures = {};
  for (const key of Object.keys(each[0] ?? {})) {
    const values = each.map((f) => f[key]);
    out[key] = values.every((v): v is number => typeof v === 'number') ? median(values) : (values[0] ?? null);
  }
  return out;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function show(v: unknown): string | number {
  return typeof v === 'number' ? v : String(v);
}

function runOnce(suite: string, args: readonly string[]): Promise<Figures> {
  const runner = fileURLToPath(new URL('./run.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, runner, suite, ...args, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const lines = out.trimEnd().split('\n');
      const last = lines.pop() ?? '';
      process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : '');
      if (code !== 0) return reject(new Error(`${suite} run ended with ${signal ?? `exit code ${code}`}`));
      try {
        resolve(JSON.parse(last) as Figures);
      } catch {
        reject(new Error(`${suite} printed no JSON figures on its last line: ${last.slice(0, 200)}`));
      }
    });
  });
}

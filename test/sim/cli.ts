// `npm run sim -- --seeds N [--seed S] [--nodes 3|5]`: runs seeded Raft simulations and reports any violation.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { replayCommand, runSeed, type SeedRunResult } from './run-seed.js';
import type { FaultCounts } from './sim-cluster.js';

const REGRESSION_FILE = fileURLToPath(new URL('./regression-seeds.json', import.meta.url));

export interface RegressionSeed {
  readonly seed: number;
  readonly nodes: number;
  readonly note?: string;
}

export function readRegressionSeeds(): RegressionSeed[] {
  return JSON.parse(readFileSync(REGRESSION_FILE, 'utf8')) as RegressionSeed[];
}

function recordRegressionSeed(seed: number, nodes: number, note: string): void {
  const seeds = readRegressionSeeds();
  if (seeds.some((s) => s.seed === seed && s.nodes === nodes)) return;
  seeds.push({ seed, nodes, note: note.slice(0, 200) });
  writeFileSync(REGRESSION_FILE, `${JSON.stringify(seeds, null, 2)}\n`);
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run sim -- [--seeds N] [--from S] [--seed S] [--nodes 3|5] [--chaos-ms MS] [--no-record]\n`);
  process.exit(2);
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

function main(): void {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      from: { type: 'string' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      'chaos-ms': { type: 'string' },
      'no-record': { type: 'boolean' },
    },
    strict: true,
  });
  const sizes = values.nodes === undefined ? [3, 5] : [positiveInt('nodes', values.nodes, 3)];
  for (const n of sizes) if (n !== 3 && n !== 5) usage(`--nodes must be 3 or 5, got ${n}`);
  const chaosMs = positiveInt('chaos-ms', values['chaos-ms'], 20_000);
  const single = values.seed === undefined ? undefined : positiveInt('seed', values.seed, 1);
  const count = positiveInt('seeds', values.seeds, 100);
  const from = positiveInt('from', values.from, 1);

  const started = performance.now();
  let failures = 0;
  let totalSeeds = 0;
  let totalSteps = 0;
  let totalFaults = 0;
  for (const nodes of sizes) {
    const seeds = single !== undefined ? [single] : [...new Set([...Array.from({ length: count }, (_, i) => from + i), ...readRegressionSeeds().filter((s) => s.nodes === nodes).map((s) => s.seed)])];
    const t0 = performance.now();
    const faults: Partial<Record<keyof FaultCounts, number>> = {};
    let steps = 0;
    let faultTotal = 0;
    let recoveryMax = 0;
    let committed = 0;
    let snapshots = 0;
    for (const seed of seeds) {
      const r: SeedRunResult = runSeed({ seed, nodes, chaosMs });
      steps += r.steps;
      faultTotal += r.faultTotal;
      committed += r.committed;
      snapshots += r.snapshotsSent;
      recoveryMax = Math.max(recoveryMax, r.recoveryMs ?? 0);
      for (const [k, v] of Object.entries(r.faults)) faults[k as keyof FaultCounts] = (faults[k as keyof FaultCounts] ?? 0) + v;
      if (r.violation !== undefined) {
        failures++;
        process.stdout.write(`\nVIOLATION seed ${seed}, ${nodes} nodes: ${r.violation}\n  replay: ${replayCommand(seed, nodes)}\n`);
        if (values['no-record'] !== true) recordRegressionSeed(seed, nodes, r.violation);
      }
    }
    totalSeeds += seeds.length;
    totalSteps += steps;
    totalFaults += faultTotal;
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    process.stdout.write(
      `${nodes} nodes: ${fmt(seeds.length)} seeds, ${fmt(steps)} steps, ${fmt(faultTotal)} faults injected, ${fmt(committed)} entries committed, ${fmt(snapshots)} snapshots sent, ` +
        `slowest recovery after healing ${recoveryMax} ms (virtual), ${secs} s\n` +
        `  faults: ${Object.entries(faults).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}\n`,
    );
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`total: ${fmt(totalSeeds)} seeds, ${fmt(totalSteps)} steps, ${fmt(totalFaults)} faults injected, ${failures} violations, ${secs} s\n`);
  if (failures > 0) process.exitCode = 1;
}

main();

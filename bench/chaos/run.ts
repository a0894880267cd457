// `npm run chaos -- --minutes N [--seed S] [--faults a,b] [--json] [--out FILE] [--keep]`: the chaos harness (issue #28).
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { printTable } from '../report.js';
import { runChaos, TARGETS, type ChaosReport } from './chaos.js';
import { FAULT_KINDS, parseFaultKinds } from './schedule.js';

const USAGE = `usage: npm run chaos -- --minutes N [--seed S] [--faults KIND,…] [--json] [--out FILE] [--keep] [--settle-ms N]
  Brings up a cluster with \`ringpool cluster up\` in a temporary directory, runs a client and a
  nemesis against it for N minutes, heals everything, waits up to 2 minutes and checks every
  accepted job against a serial reference. Killed processes come back by the supervision of
  \`cluster up\`, with no action of the harness. Exit 0 only when no job is wrong, failed, stuck or lost.
  --seed S           the nemesis's and the client's seed (default: from the clock, printed)
  --faults K,…       fault kinds (default all): ${FAULT_KINDS.join(', ')}
  --json             one JSON object on stdout (the table goes to stderr)
  --out FILE         the details (every fault, outage, refused request, bad job) as JSON
                     (default: $TMPDIR/ringpool-chaos-<seed>-<time>.json)
  --keep             keep the cluster's directory (logs, data); kept anyway when a safety figure fails
  --settle-ms N      how long jobs may take to end after the heal (default 120000)`;

let values;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      minutes: { type: 'string' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      keep: { type: 'boolean' },
      'settle-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  console.error(`chaos: ${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function numberOption(name: string, text: string | undefined, fallback: number | undefined, check: (n: number) => boolean, what: string): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n) || !check(n)) {
    console.error(`chaos: --${name} must be ${what}, got ${JSON.stringify(text ?? null)}\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const minutes = numberOption('minutes', values.minutes, undefined, (n) => n > 0 && n <= 24 * 60, 'a number of minutes above 0 (at most 1440)');
const seed = numberOption('seed', values.seed, Date.now() % 1_000_000, (n) => Number.isInteger(n) && n >= 0, 'a whole number');
const settleMs = numberOption('settle-ms', values['settle-ms'], 120_000, (n) => Number.isInteger(n) && n >= 0, 'a whole number of ms');
let kinds;
try {
  kinds = values.faults === undefined ? undefined : parseFaultKinds(values.faults);
} catch (err) {
  console.error(`chaos: ${(err as Error).message}`);
  process.exit(2);
}
const out = values.out ?? join(tmpdir(), `ringpool-chaos-${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);

// Ctrl-C: the run heals, stops its cluster and leaves; a second one kills at once (the exit handler SIGKILLs every process).
const interrupt = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupt.signal.aborted) process.exit(130);
    console.error(`\n${signal}: healing and stopping the cluster (again to kill it at once)`);
    interrupt.abort();
  });
}

const log = (line: string) => console.error(line);
try {
  const detail = await runChaos({ minutes, seed, ...(kinds ? { kinds } : {}), settleMs, keepDir: values.keep ?? false, onProgress: log, signal: interrupt.signal });
  writeFileSync(out, `${JSON.stringify(detail, null, 2)}\n`);
  // Bound now: printReport points console.log at `print` while it prints (a print that called console.log then would call itself).
  const stdout = console.log.bind(console);
  const print = values.json ? (line: string) => console.error(line) : stdout;
  printReport(detail.report, print);
  print(`\ndetails (every fault, outage, refused request, bad job): ${out}`);
  if (values.json) console.log(JSON.stringify(detail.report));
  process.exit(detail.report.safe ? 0 : 1);
} catch (err) {
  console.error(`chaos: ${(err as Error).message}`);
  process.exit(interrupt.signal.aborted ? 130 : 1);
}

function printReport(r: ChaosReport, print: (line: string) => void): void {
  const original = console.log;
  console.log = print; // printTable writes through console.log
  try {
    const ms = (n: number | null) => (n === null ? '—' : String(n));
    const ok = (met: boolean) => (met ? 'ok' : 'MISSED');
    printTable(`chaos: seed ${r.seed}, ${r.minutes} min, ${r.faults} fault${r.faults === 1 ? '' : 's'}`, [
      ['jobs', 'accepted', 'correct', 'wrong', 'failed', 'stuck', 'lost', 'ambiguous submits'],
      ['', r.jobs.accepted, r.jobs.correct, r.jobs.wrong, r.jobs.failed, r.jobs.stuck, r.jobs.lost, r.jobs.ambiguousSubmits],
    ]);
    printTable('recovery: from the fault\'s end (Redis: the promotion) until every process is ready', [
      ['fault', 'count', 'p50 ms', 'max ms', 'not recovered', `≤ ${TARGETS.recoveryMsMax} ms`],
      ...Object.entries(r.recoveryMs).map(([kind, f]) => [kind, f.count, ms(f.p50), ms(f.max), f.unrecovered, ok(f.unrecovered === 0 && (f.max ?? 0) <= TARGETS.recoveryMsMax)]),
    ]);
    const a = r.apiUnavailableMs;
    printTable(`API unavailable (${r.apiRequests.total} requests: ${r.apiRequests.refused} refused with Retry-After, ${r.apiRequests.unavailable} unavailable, ${r.apiRequests.error} errors)`, [
      ['during', 'p50 ms', 'max ms', 'each', 'target'],
      ['a Redis failover', ms(a.redisFailoverP50), ms(a.redisFailoverMax), a.perRedisFailover.join(' '), `≤ ${TARGETS.apiUnavailableMsPerRedisFailover} ms ${ok(a.perRedisFailover.every((x) => x <= TARGETS.apiUnavailableMsPerRedisFailover))}`],
      ['another fault', ms(a.otherFaultsP50), ms(a.otherFaultsMax), a.otherFaults.join(' '), `0 ms ${ok(a.otherFaults.every((x) => x === 0))}`],
      ['outside any fault', '', String(a.outsideFaults), '', ''],
    ]);
    print(`\nsafety (0 wrong, failed, stuck, lost): ${r.safe ? 'held' : 'VIOLATED'}; every target: ${r.targetsMet ? 'met' : 'not met'}${r.keptDir ? `; cluster logs kept in ${r.keptDir}/logs` : ''}`);
  } finally {
    console.log = original;
  }
}

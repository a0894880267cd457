// `npm run bench -- <suite> [--json] [--repeat N] [--timeout-s N] [suite options]`: runs one benchmark suite from bench/<suite>.ts.
// Whatever way the run ends (done, a thrown error, Ctrl-C, SIGTERM, SIGHUP, the time limit), every
// process it started, at any depth, is stopped and every temporary directory it made is removed.
import { killDescendants, removeTempDirs, snapshotDescendants } from './cleanup.js';
import { numberFlag, stopEverything } from './harness.js';
import { repeatSuite } from './repeat.js';
import type { BenchSuite } from './report.js';

/** The suites, one a line: bench/<name>.ts exporting a `BenchSuite` as default. */
const SUITES = [
  'autoscale',
  'data',
  'deploy',
  'failover',
  'fairness',
  'idle',
  'latency',
  'placement',
  'replication',
  'ring',
  'scale',
  'speedup',
  'throughput',
  'worker-loss',
];

/** Default limit on one run; `--timeout-s` changes it. */
const DEFAULT_TIMEOUT_S = 3600;
/** How long the graceful stop (Redis SHUTDOWN, nodes closing) may take before everything left is SIGKILLed. */
const GRACEFUL_STOP_MS = 10_000;

const [suite, ...rest] = process.argv.slice(2);
if (suite === undefined || !SUITES.includes(suite)) {
  console.error(`usage: npm run bench -- <suite> [--json] [--timeout-s N]\nsuites: ${SUITES.join(', ')}${suite ? `\nunknown suite "${suite}"` : ''}`);
  process.exit(2);
}
const timeoutS = numberFlag(rest, 'timeout-s', DEFAULT_TIMEOUT_S);
if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
  console.error(`--timeout-s must be a positive number of seconds, got "${rest[rest.indexOf('--timeout-s') + 1] ?? ''}"`);
  process.exit(2);
}

let ending = false;
/** Stops what the run started (gracefully, then by SIGKILL), removes its directories, exits with `code`. */
function finish(code: number, why?: string): void {
  if (ending) {
    // A second signal while stopping: stop at once.
    killDescendants();
    removeTempDirs();
    process.exit(code);
  }
  ending = true;
  if (why !== undefined) console.error(`\n${why}: stopping what the bench started`);
  snapshotDescendants();
  const patience = new Promise((r) => setTimeout(r, GRACEFUL_STOP_MS).unref());
  void Promise.race([stopEverything(), patience])
    .catch(() => {})
    .finally(() => {
      killDescendants();
      removeTempDirs();
      process.exit(code);
    });
}

// Last resort, synchronous: whatever path reached exit, no child outlives the runner.
process.on('exit', () => {
  killDescendants();
  removeTempDirs();
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) process.on(signal, () => finish(code, signal));
process.on('uncaughtException', (err) => {
  console.error(err);
  finish(1, 'uncaught error');
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  finish(1, 'unhandled rejection');
});
// Output piped into a reader that stopped (`| head`): stop the same way rather than crash on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  finish(0);
});
setTimeout(() => finish(124, `time limit of ${timeoutS} s reached`), timeoutS * 1000).unref();
// Processes a suite killed leave their children to init: remember every descendant while it lives.
setInterval(snapshotDescendants, 1000).unref();

const runs = numberFlag(rest, 'repeat', 1);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--repeat must be a whole number of runs, 1 or more, got "${rest[rest.indexOf('--repeat') + 1] ?? ''}"`);
  process.exit(2);
}
const withoutRunnerFlags = rest.filter((a, i) => !['--json', '--timeout-s', '--repeat'].includes(a) && !['--timeout-s', '--repeat'].includes(rest[i - 1] ?? ''));
try {
  if (runs > 1) {
    // Each run in a process of its own, one after the other; the medians are what the docs quote.
    const figures = await repeatSuite(suite, withoutRunnerFlags, runs);
    if (rest.includes('--json')) console.log(JSON.stringify(figures));
    finish(0);
  } else {
    const mod = (await import(`./${suite}.ts`)) as { default: BenchSuite };
    const figures = await mod.default(withoutRunnerFlags);
    if (rest.includes('--json')) console.log(JSON.stringify(figures));
    finish(0);
  }
} catch (err) {
  console.error(err);
  finish(1, 'the suite failed');
}

// Baseline worker for the speedup bench with `--module-loader ringpool` (raw piscina, BullMQ's
// sandbox, the serial loop): runs one `primes` task per call, the job module loaded as ringpool's
// task threads load it (thread-modules.ts, through tsx's CommonJS hook), so the baselines run the
// same build as ringpool. The default, `primes-thread.mjs`, loads it through tsx's ESM hook.
require('tsx/cjs/api').register();
require('../../src/registry/import-module.ts').loadedAsCommonJs(true);
const { loadJobModule } = require('../../src/registry/thread-modules.ts');

const primes = loadJobModule(require.resolve('../../jobs/primes.ts'));
const ctx = { signal: new AbortController().signal, jobId: 'bench', taskIndex: 0, attempt: 0, progress() {} };

/** piscina calls it with the task; BullMQ's sandbox with a job whose data is the task. */
module.exports = async function run(arg) {
  return (await primes).run(arg && arg.data !== undefined && arg.opts !== undefined ? arg.data : arg, ctx);
};

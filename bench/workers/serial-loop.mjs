// The speedup bench's serial baseline: a process of its own runs the `primes` tasks one after another
// on its main thread, away from the event loop that hosts the ringpool node under test. argv[2] says
// how the job module is loaded: `tsx-esm` (tsx's ESM hook) or `ringpool` (as ringpool's task threads
// load it).
import { createRequire } from 'node:module';
import { register } from 'tsx/esm/api';

async function loadPrimes(loader) {
  if (loader === 'tsx-esm') {
    register();
    return (await import('../../jobs/primes.ts')).default;
  }
  const require = createRequire(import.meta.url);
  require('tsx/cjs/api').register();
  require('../../src/registry/import-module.ts').loadedAsCommonJs();
  return require('../../src/registry/thread-modules.ts').loadJobModule(require.resolve('../../jobs/primes.ts'));
}

const primes = await loadPrimes(process.argv[2]);
const ctx = { signal: new AbortController().signal, jobId: 'bench', taskIndex: 0, attempt: 0, progress() {} };

process.on('message', async (tasks) => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let sum = 0;
  for (const task of tasks) sum += await primes.run(task, ctx);
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  process.send({ ms, cpuMs: (used.user + used.system) / 1000, sum });
});
process.on('disconnect', () => process.exit(0)); // the bench ended, however it ended
process.send({ ready: true });

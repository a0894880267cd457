// The speedup bench's serial baseline: a process of its own runs the `primes` tasks one after another
// on its main thread, away from the event loop that hosts the ringpool node under test.
import { register } from 'tsx/esm/api';

register();
const { default: primes } = await import('../../jobs/primes.ts');
const ctx = { signal: new AbortController().signal, jobId: 'bench', taskIndex: 0, attempt: 0, progress() {} };

process.on('message', async (tasks) => {
  const started = performance.now();
  let sum = 0;
  for (const task of tasks) sum += await primes.run(task, ctx);
  process.send({ ms: performance.now() - started, sum });
});
process.on('disconnect', () => process.exit(0)); // the bench ended, however it ended
process.send({ ready: true });

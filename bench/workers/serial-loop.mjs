// The speedup bench's serial baseline: a process of its own runs the `primes` tasks one after another
// on its main thread, away from the event loop that hosts the ringpool node under test. argv[2] is
// the baselines' worker module (primes-thread.mjs or .cjs), so the job module loads as theirs does.
const { default: run } = await import(process.argv[2]);

process.on('message', async (tasks) => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let sum = 0;
  for (const task of tasks) sum += await run(task);
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  process.send({ ms, cpuMs: (used.user + used.system) / 1000, sum });
});
process.on('disconnect', () => process.exit(0)); // the bench ended, however it ended
process.send({ ready: true });

// `npm run bench -- latency`: a one-task job, HTTP submit → result, sequentially; p50 and p99.
import { numberFlag, startBenchCluster } from './harness.js';
import { printTable, quantile, type BenchSuite } from './report.js';

const suite: BenchSuite = async (args) => {
  const runs = numberFlag(args, 'runs', 1000);
  const cluster = await startBenchCluster();
  try {
    const once = async () => {
      const started = performance.now();
      const created = await fetch(`${cluster.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"job":"increment","input":{"tasks":1}}',
      });
      const { id } = (await created.json()) as { id: string };
      // Long poll: the API answers as soon as the job ends (no client-side polling interval).
      const res = await fetch(`${cluster.url}/v1/jobs/${id}/result?wait=10000`);
      const body = (await res.json()) as { result?: number };
      if (body.result !== 1) throw new Error(`unexpected answer ${JSON.stringify(body)}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 20; i++) await once(); // warm-up: threads, connections, JIT
    const samples: number[] = [];
    const cpu = process.cpuUsage();
    for (let i = 0; i < runs; i++) samples.push(await once());
    const used = process.cpuUsage(cpu);
    const figures = {
      latencyP50Ms: Number(quantile(samples, 0.5).toFixed(2)),
      latencyP99Ms: Number(quantile(samples, 0.99).toFixed(2)),
      latencyMaxMs: Number(Math.max(...samples).toFixed(2)),
      runs,
      // CPU time of this process (API, scheduler, worker and their threads, and the client) per job.
      cpuMsPerJob: Number(((used.user + used.system) / 1000 / runs).toFixed(2)),
    };
    printTable(`latency: one-task job, submit over HTTP → result, ${runs} in a row (WAIT-acked writes)`, [
      ['p50 ms', 'p99 ms', 'max ms'],
      [figures.latencyP50Ms, figures.latencyP99Ms, figures.latencyMaxMs],
    ]);
    return figures;
  } finally {
    await cluster.close();
  }
};

export default suite;

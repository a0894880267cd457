// `npm run bench -- deploy`: job modules deployed to a running multi-process cluster: deploy → served on every node, and version pinning under deploys every second.
import { numberFlag, withProcessCluster } from './harness.js';
import { printTable, quantile, type BenchSuite } from './report.js';

/** A module whose tasks return `mark` (a new one per deploy) after spinning `ms`. */
function moduleSource(mark: string): string {
  return `import { z } from 'zod';
import { defineJob } from 'ringpool/sdk';
export default defineJob({
  name: 'stamp',
  input: z.object({ tasks: z.number().int().min(1).max(10000), ms: z.number().min(0).max(1000) }),
  *split({ tasks, ms }) { for (let i = 0; i < tasks; i++) yield ms; },
  run(ms: number) { const end = Date.now() + ms; while (Date.now() < end); return ${JSON.stringify(mark)}; },
  reduce: (marks: string[]) => [...new Set(marks)],
});
`;
}

const suite: BenchSuite = async (args) => {
  const rounds = numberFlag(args, 'rounds', 5);
  const seconds = numberFlag(args, 'seconds', 20);
  const workers = ['w1', 'w2', 'w3'].map((id) => ({ id, threads: 1 }));
  return await withProcessCluster({ workers, name: 'deploy' }, async (c) => {
    const pids = () => [...c.workers.values(), ...c.schedulers.values(), c.api].map((s) => s.child.pid).join(',');
    const pidsBefore = pids();
    const marks = new Map<number, string>();
    let deploys = 0;
    const deploy = async (): Promise<{ version: number; at: number }> => {
      const mark = `m${++deploys}-${Math.random().toString(36).slice(2, 8)}`;
      const answer = await c.call('/v1/job-types', { body: { source: moduleSource(mark), filename: 'stamp.ts' } });
      marks.set(answer.version as number, mark);
      return { version: answer.version as number, at: Date.now() };
    };

    // 1. Deploy accepted → a job of the new version has run on every node.
    const serving: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const { version, at } = await deploy();
      const { id } = await c.call('/v1/jobs', { body: { job: 'stamp', input: { tasks: 30, ms: 2 }, options: { batchSize: 1 } } });
      const job = await c.waitForJobEnd(id);
      const result = (await c.call(`/v1/jobs/${id}/result`)).result as string[];
      const nodes = Object.keys(job.tasksPerNode as Record<string, number>).length;
      if (job.status !== 'completed' || job.version !== version || result.length !== 1 || result[0] !== marks.get(version) || nodes !== workers.length) {
        throw new Error(`round ${round}: job ${job.status}, version ${job.version} (deployed ${version}), marks ${result.join(',')}, on ${nodes} nodes`);
      }
      serving.push(Date.now() - at);
    }

    // 2. Jobs submitted while a new version is deployed every second: each runs only its own version.
    const jobs: string[] = [];
    const until = Date.now() + seconds * 1000;
    const deployer = (async () => {
      // One deploy a second (a deploy that takes longer starts the next at once).
      for (let next = Date.now(); Date.now() < until; next += 1000) {
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
        await deploy();
      }
    })();
    while (Date.now() < until) {
      const { id } = await c.call('/v1/jobs', { body: { job: 'stamp', input: { tasks: 40, ms: 5 }, options: { batchSize: 4 } } });
      jobs.push(id as string);
      await new Promise((r) => setTimeout(r, 150));
    }
    await deployer;
    let wrong = 0;
    let failed = 0;
    const versionsSeen = new Set<number>();
    for (const id of jobs) {
      const job = await c.waitForJobEnd(id, 120_000);
      if (job.status !== 'completed') {
        failed++;
        continue;
      }
      versionsSeen.add(job.version as number);
      const result = (await c.call(`/v1/jobs/${id}/result`)).result as string[];
      if (result.length !== 1 || result[0] !== marks.get(job.version as number)) wrong++;
    }
    const figures = {
      deployToServingMs: quantile(serving, 0.5),
      deployToServingMaxMs: Math.max(...serving),
      jobsAcrossDeploys: jobs.length,
      deploysDuringJobs: deploys - rounds,
      versionsRun: versionsSeen.size,
      jobsWrongVersion: wrong,
      jobsFailed: failed,
      restartsNeeded: pids() === pidsBefore ? 0 : 1,
    };
    printTable(`deploy: job modules deployed to a running cluster (3 worker nodes, ${rounds} rounds, then ${seconds} s of a deploy a second)`, [
      ['', 'figure', 'target'],
      ['deploy accepted → a job of it run on every node, p50 / max ms', `${figures.deployToServingMs} / ${figures.deployToServingMaxMs}`, '≤ 2000'],
      ['jobs submitted across deploys (versions they ran)', `${figures.jobsAcrossDeploys} (${figures.versionsRun})`, '≥ 50'],
      ['jobs whose tasks ran another version than theirs', figures.jobsWrongVersion, '0'],
      ['jobs that did not complete', figures.jobsFailed, '0'],
      ['processes restarted', figures.restartsNeeded, '0'],
    ]);
    return figures;
  });
};

export default suite;

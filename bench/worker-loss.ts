// `npm run bench -- worker-loss`: SIGKILL one of three worker nodes mid-job, 5 times; detection, re-placement, tasks moved.
import { Queue } from 'bullmq';
import { JobStore } from '../src/store/job-store.js';
import { createKeys } from '../src/store/keys.js';
import type { TaskBatch } from '../src/transport/task-batch.js';
import { numberFlag, withProcessCluster } from './harness.js';
import { printTable, quantile, type BenchSuite } from './report.js';

const suite: BenchSuite = async (args) => {
  const rounds = numberFlag(args, 'rounds', 5);
  const leaseMs = numberFlag(args, 'lease-ms', 2000);
  const workers = ['w1', 'w2', 'w3'].map((id) => ({ id, threads: 1 }));
  return await withProcessCluster({ workers, flags: ['--lease-ms', String(leaseMs)], name: 'wloss' }, async (c) => {
    const store = new JobStore(c.redis, createKeys(c.prefix));
    const detect: number[] = [];
    const replaced: number[] = [];
    let moved = 0;
    let expected = 0;
    for (let round = 0; round < rounds; round++) {
      const victim = workers[round % workers.length]?.id as string;
      const { id } = await c.call('/v1/jobs', { body: { job: 'spin', input: { tasks: 1500, ms: 4 }, options: { batchSize: 1 } } });
      await c.waitFor('work under way', async () => (await c.call(`/v1/jobs/${id}`)).progress.done >= 200);
      const killedAt = Date.now();
      c.workers.get(victim)?.child.kill('SIGKILL');
      await c.workers.get(victim)?.exited;
      await new Promise((r) => setTimeout(r, 150));
      const queue = new Queue<TaskBatch>(`node-${victim}`, { connection: c.redis, prefix: c.prefix });
      const held = (await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'paused'])).flatMap((e) => e.data.tasks.map(([i]) => i));
      await queue.close();
      const stored = await store.results.storedIndices(id, held);
      const unfinished = held.filter((i) => !stored.has(i));
      expected += unfinished.length;
      // Detected: its tasks were taken off it (the evacuation report); replaced: one of them has a result.
      const report = await c.waitFor('the evacuation', async () => {
        const all = (await c.redis.lrange(`${c.prefix}:evacuations`, 0, -1)).map((r) => JSON.parse(r) as { node: string; at: number; movedTasks: number });
        return all.find((r) => r.node === victim && r.at >= killedAt);
      }, 30_000);
      detect.push(report.at - killedAt);
      moved += report.movedTasks;
      await c.waitFor('a moved task to finish elsewhere', async () => (unfinished.length === 0 ? true : (await store.results.storedIndices(id, unfinished)).size > 0), 30_000);
      replaced.push(Date.now() - killedAt);
      const job = await c.waitForJobEnd(id);
      if (job.status !== 'completed' || job.progress.done !== 1500) throw new Error(`round ${round}: job ${job.status} with ${job.progress.done} done`);
      await c.startWorker(victim, 1);
      await c.waitFor('the node to be back', async () => (await c.call('/v1/cluster')).workers.some((w: { id: string; state: string }) => w.id === victim && w.state === 'alive'));
    }
    const figures = {
      detectP50Ms: quantile(detect, 0.5),
      replacedP50Ms: quantile(replaced, 0.5),
      movedTasks: moved,
      expectedMovedTasks: expected,
      leaseMs,
      rounds,
    };
    printTable(`worker-loss: SIGKILL of one of three worker nodes mid-job, ${rounds} times (lease ${leaseMs} ms)`, [
      ['', 'p50 ms', 'each (ms)'],
      ['kill → its tasks taken off it (detected)', figures.detectP50Ms, detect.join(' ')],
      ['kill → first moved task done elsewhere', figures.replacedP50Ms, replaced.join(' ')],
      ['tasks moved / unfinished on the node', `${moved} / ${expected}`, ''],
    ]);
    return figures;
  });
};

export default suite;

// `npm run bench -- worker-loss [--rounds 5] [--lease-ms 2000] [--hogs N]`: SIGKILL one of three worker nodes mid-job, 5 times, with every core also spun by N busy processes; detection, re-placement, tasks moved, and live nodes wrongly removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Queue } from 'bullmq';
import { JobStore } from '../src/store/job-store.js';
import { createKeys } from '../src/store/keys.js';
import { batchTasks, type TaskBatch } from '../src/transport/task-batch.js';
import { numberFlag, withProcessCluster } from './harness.js';
import { printTable, quantile, type BenchSuite } from './report.js';

/** A process that spins one core until killed: the CPU load a live worker must survive without being removed. */
function startHog(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

const suite: BenchSuite = async (args) => {
  const rounds = numberFlag(args, 'rounds', 5);
  const leaseMs = numberFlag(args, 'lease-ms', 2000);
  const hogCount = numberFlag(args, 'hogs', availableParallelism());
  const workers = ['w1', 'w2', 'w3'].map((id) => ({ id, threads: 1 }));
  return await withProcessCluster({ workers, flags: ['--lease-ms', String(leaseMs)], name: 'wloss' }, async (c) => {
    const store = new JobStore(c.redis, createKeys(c.prefix));
    const detect: number[] = [];
    const replaced: number[] = [];
    let moved = 0;
    let expected = 0;
    // The node killed in the current round (undefined between rounds: every node should be live).
    let victim: string | undefined;
    /** Live nodes the leader took off the ring: `node@ms` of each removal seen, by the committed members it publishes. */
    const falseRemovals = new Set<string>();
    /** Each round's victim and when it was killed and back: an evacuation outside them moved a live node's tasks. */
    const windows: Array<{ node: string; from: number; to: number }> = [];
    const hogs = Array.from({ length: hogCount }, startHog);
    let watching = true;
    // The leader publishes its committed members on every change (node/consensus.ts): sampled every 100 ms.
    const watcher = (async () => {
      const missing = new Set<string>();
      while (watching) {
        const statuses = Object.values(await c.redis.hgetall(`${c.prefix}:schedulers`)).map((raw) => JSON.parse(raw) as { role: string; members?: Array<{ id: string }> });
        const leader = statuses.find((s) => s.role === 'leader');
        if (leader?.members !== undefined) {
          const members = new Set(leader.members.map((m) => m.id));
          for (const { id } of workers) {
            const gone = !members.has(id) && id !== victim;
            if (gone && !missing.has(id)) falseRemovals.add(`${id}@${Date.now()}`);
            if (gone) missing.add(id);
            else missing.delete(id);
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      for (let round = 0; round < rounds; round++) {
        const killed = workers[round % workers.length]?.id as string;
        const { id } = await c.call('/v1/jobs', { body: { job: 'spin', input: { tasks: 1500, ms: 4 }, options: { batchSize: 1 } } });
        await c.waitFor('work under way', async () => (await c.call(`/v1/jobs/${id}`)).progress.done >= 200);
        const killedAt = Date.now();
        victim = killed;
        c.workers.get(killed)?.child.kill('SIGKILL');
        await c.workers.get(killed)?.exited;
        await new Promise((r) => setTimeout(r, 150));
        const queue = new Queue<TaskBatch>(`node-${killed}`, { connection: c.redis, prefix: c.prefix });
        const held = (await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'paused'])).flatMap((e) => batchTasks(e.data).map(([i]) => i));
        await queue.close();
        const stored = await store.results.storedIndices(id, held);
        const unfinished = held.filter((i) => !stored.has(i));
        expected += unfinished.length;
        // Detected: its tasks were taken off it (the evacuation report); replaced: one of them has a result.
        const report = await c.waitFor(
          'the evacuation',
          async () => {
            const all = (await c.redis.lrange(`${c.prefix}:evacuations`, 0, -1)).map((r) => JSON.parse(r) as { node: string; at: number; movedTasks: number });
            return all.find((r) => r.node === killed && r.at >= killedAt);
          },
          30_000,
        );
        detect.push(report.at - killedAt);
        moved += report.movedTasks;
        await c.waitFor('a moved task to finish elsewhere', async () => (unfinished.length === 0 ? true : (await store.results.storedIndices(id, unfinished)).size > 0), 30_000);
        replaced.push(Date.now() - killedAt);
        const job = await c.waitForJobEnd(id);
        if (job.status !== 'completed' || job.progress.done !== 1500) throw new Error(`round ${round}: job ${job.status} with ${job.progress.done} done`);
        await c.startWorker(killed, 1);
        await c.waitFor('the node to be back', async () => (await c.call('/v1/cluster')).workers.some((w: { id: string; state: string }) => w.id === killed && w.state === 'alive'));
        await c.waitFor('the node back on the ring', async () => {
          const statuses = Object.values(await c.redis.hgetall(`${c.prefix}:schedulers`)).map((raw) => JSON.parse(raw) as { role: string; members?: Array<{ id: string }> });
          return statuses.some((s) => s.role === 'leader' && (s.members ?? []).some((m) => m.id === killed));
        });
        victim = undefined;
        windows.push({ node: killed, from: killedAt, to: Date.now() });
      }
      // Evacuations of a node while it was not the killed one: a live node's tasks moved.
      for (const raw of await c.redis.lrange(`${c.prefix}:evacuations`, 0, -1)) {
        const r = JSON.parse(raw) as { node: string; at: number };
        if (!windows.some((w) => w.node === r.node && r.at >= w.from && r.at <= w.to)) falseRemovals.add(`${r.node}@${r.at} (evacuated)`);
      }
    } finally {
      watching = false;
      await watcher.catch(() => {});
      for (const hog of hogs) hog.kill('SIGKILL');
    }
    const figures = {
      detectP50Ms: quantile(detect, 0.5),
      detectMaxMs: Math.max(...detect),
      replacedP50Ms: quantile(replaced, 0.5),
      falseRemovals: falseRemovals.size,
      movedTasks: moved,
      expectedMovedTasks: expected,
      leaseMs,
      hogs: hogCount,
      rounds,
    };
    printTable(`worker-loss: SIGKILL of one of three worker nodes mid-job, ${rounds} times (lease ${leaseMs} ms, ${hogCount} CPU hogs)`, [
      ['', 'p50 ms', 'each (ms)'],
      ['kill → its tasks taken off it (detected)', figures.detectP50Ms, detect.join(' ')],
      ['kill → first moved task done elsewhere', figures.replacedP50Ms, replaced.join(' ')],
      ['tasks moved / unfinished on the node', `${moved} / ${expected}`, ''],
      ['live nodes taken off the ring (false removals)', figures.falseRemovals, [...falseRemovals].join(' ')],
    ]);
    return figures;
  });
};

export default suite;

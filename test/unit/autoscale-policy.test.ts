import { describe, expect, it } from 'vitest';
import { decide, INITIAL_MEMORY, type PolicyMemory, type PolicyOptions, type ScaledNode } from '../../src/autoscale/policy.js';
import { workerRange } from '../../src/autoscale/worker-range.js';
import { recommendWorkerNodes, UNMEASURED_TASK_MICROS, type BacklogSample } from '../../src/scheduler/backlog.js';

const sample = (over: Partial<BacklogSample> = {}): BacklogSample => ({
  unplacedTasks: 0,
  unsizedJobs: 0,
  unfinishedTasks: 0,
  queuedTasks: {},
  busyThreads: 0,
  taskMicros: 1000,
  currentNodes: 1,
  threadsPerNode: 2,
  ...over,
});
const policy = { targetDrainMs: 1000, minNodes: 0, maxNodes: 4 };

describe('recommendWorkerNodes', () => {
  it('ceil(backlog work / (target drain × threads per node)), clamped to MIN..MAX', () => {
    // 3000 tasks × 1 ms = 3000 ms of work; 1000 ms × 2 threads per node → 2 nodes.
    expect(recommendWorkerNodes(sample({ unplacedTasks: 2000, queuedTasks: { a: 600, b: 400 } }), policy)).toMatchObject({ desired: 2, reason: 'backlog', backlogTasks: 3000, backlogWorkMs: 3000 });
    expect(recommendWorkerNodes(sample({ unplacedTasks: 2001 }), policy).desired).toBe(2);
    expect(recommendWorkerNodes(sample({ unplacedTasks: 100_000 }), policy)).toMatchObject({ desired: 4, reason: 'at-max' });
    expect(recommendWorkerNodes(sample(), { ...policy, minNodes: 1 })).toMatchObject({ desired: 1, reason: 'at-min' });
    expect(recommendWorkerNodes(sample(), policy)).toMatchObject({ desired: 0, reason: 'idle' });
  });

  it('any work wants a node: a job not yet split with zero nodes waits for capacity (the cold start); busy threads keep their nodes', () => {
    expect(recommendWorkerNodes(sample({ unsizedJobs: 1, currentNodes: 0 }), policy)).toMatchObject({ desired: 1, reason: 'waiting-for-capacity' });
    expect(recommendWorkerNodes(sample({ busyThreads: 5 }), policy)).toMatchObject({ desired: 3, reason: 'running' });
  });

  it('a job still being split (size unknown) with every thread busy wants one more node; with a thread free it does not', () => {
    expect(recommendWorkerNodes(sample({ unsizedJobs: 1, busyThreads: 4, currentNodes: 2, unfinishedTasks: 8 }), policy)).toMatchObject({ desired: 3, reason: 'backlog' });
    expect(recommendWorkerNodes(sample({ unsizedJobs: 1, busyThreads: 3, currentNodes: 2, unfinishedTasks: 8 }), policy)).toMatchObject({ desired: 2, reason: 'running' });
    expect(recommendWorkerNodes(sample({ unsizedJobs: 1, busyThreads: 8, currentNodes: 4, unfinishedTasks: 8 }), policy)).toMatchObject({ desired: 4, reason: 'at-max' });
  });

  it('a job whose entries wait on a node that left is work: with zero nodes it wants one', () => {
    // Split ended and every task placed, on a node drained since: no queue of a live node holds them.
    expect(recommendWorkerNodes(sample({ unfinishedTasks: 10, currentNodes: 0 }), policy)).toMatchObject({ desired: 1, reason: 'waiting-for-capacity', backlogTasks: 10 });
  });

  it('an unmeasured task type counts UNMEASURED_TASK_MICROS a task', () => {
    const r = recommendWorkerNodes(sample({ unplacedTasks: 1000, taskMicros: undefined }), { ...policy, maxNodes: 1000 });
    expect(r.backlogWorkMs).toBe((1000 * UNMEASURED_TASK_MICROS) / 1000);
    expect(r.desired).toBe(Math.ceil(r.backlogWorkMs / 2000));
  });
});

const options: PolicyOptions = { minNodes: 0, maxNodes: 3, scaleDownIdleMs: 5000, upCooldownMs: 1000, downCooldownMs: 5000 };
const node = (id: string, over: Partial<ScaledNode> = {}): ScaledNode => ({ id, starting: false, draining: false, busy: 0, queued: 0, ...over });

describe('decide', () => {
  it('from zero nodes starts at once (cold start), whatever the cool-down', () => {
    const memory: PolicyMemory = { ...INITIAL_MEMORY, lastUpAt: 999 };
    expect(decide(1000, 1, 'waiting-for-capacity', [], options, memory).decision).toEqual({ action: 'up', count: 1, reason: 'cold-start' });
  });

  it('scales up by the missing nodes, starting ones counted; then waits out the up cool-down; never past MAX', () => {
    const first = decide(0, 5, 'backlog', [node('a')], options, INITIAL_MEMORY);
    expect(first.decision).toEqual({ action: 'up', count: 2, reason: 'backlog' });
    expect(decide(500, 4, 'backlog', [node('a'), node('b', { starting: true })], options, first.memory).decision).toEqual({ action: 'hold', reason: 'up-cooldown' });
    expect(decide(500, 3, 'backlog', [node('a'), node('b', { starting: true }), node('c', { starting: true })], options, first.memory).decision.action).toBe('hold');
  });

  it('scales down only after the surplus lasted scale-down-idle-ms, only idle nodes, never below MIN, never a starting one', () => {
    const nodes = [node('a', { busy: 1 }), node('b', { queued: 3 }), node('c'), node('d', { starting: true })];
    let memory = INITIAL_MEMORY;
    let out = decide(0, 0, 'idle', nodes, options, memory);
    expect(out.decision).toEqual({ action: 'hold', reason: 'surplus-not-idle-long-enough' });
    memory = out.memory;
    out = decide(5000, 0, 'idle', nodes, options, memory);
    expect(out.decision).toEqual({ action: 'down', nodes: ['c'], reason: 'idle' });
    expect(decide(99_000, 0, 'idle', [node('a'), node('b')], { ...options, minNodes: 1 }, { ...INITIAL_MEMORY, surplusSince: 0 }).decision).toEqual({ action: 'down', nodes: ['a'], reason: 'idle' });
    expect(decide(99_000, 0, 'idle', [node('a', { busy: 2 })], options, { ...INITIAL_MEMORY, surplusSince: 0 }).decision).toEqual({ action: 'hold', reason: 'surplus-nodes-busy' });
  });

  it('no flapping: a steady load that wobbles around the node count changes nothing once reached', () => {
    let memory = INITIAL_MEMORY;
    let nodes: ScaledNode[] = [];
    const changes: string[] = [];
    for (let t = 0; t < 120_000; t += 200) {
      // Desired wobbles 2, 3, 2, 3 … (a steady load at the edge of a node), busy nodes all the time.
      const desired = Math.floor(t / 200) % 2 === 0 ? 2 : 3;
      const { decision, memory: next } = decide(t, desired, 'backlog', nodes, options, memory);
      memory = next;
      if (decision.action === 'up') {
        for (let i = 0; i < decision.count; i++) nodes.push(node(`n${nodes.length}`, { busy: 1 }));
        changes.push(`up@${t}`);
      }
      if (decision.action === 'down') {
        nodes = nodes.filter((n) => !decision.nodes.includes(n.id));
        changes.push(`down@${t}`);
      }
    }
    expect(changes).toEqual(['up@0', 'up@1000']);
    expect(nodes).toHaveLength(3);
  });

  it('a desired count that drops briefly below the nodes (shorter than scale-down-idle-ms) drains nothing', () => {
    let memory = INITIAL_MEMORY;
    const nodes = [node('a'), node('b')];
    const downs: number[] = [];
    for (let t = 0; t < 60_000; t += 200) {
      const desired = t % 4000 < 3000 ? 2 : 1; // dips to 1 for 1 s out of every 4
      const out = decide(t, desired, 'backlog', nodes, options, memory);
      memory = out.memory;
      if (out.decision.action === 'down') downs.push(t);
    }
    expect(downs).toEqual([]);
  });
});

describe('workerRange', () => {
  it('auto, MIN..MAX, N and absent; a bad range is a CONFIG error naming the flag', () => {
    expect(workerRange({ workers: 'auto', maxWorkers: 3 })).toEqual({ minNodes: 0, maxNodes: 3 });
    expect(workerRange({ workers: '1..4' })).toEqual({ minNodes: 1, maxNodes: 4 });
    expect(workerRange({ workers: '2' })).toEqual({ minNodes: 2, maxNodes: 2 });
    expect(workerRange({})).toEqual({ minNodes: 0, maxNodes: 1000 });
    expect(() => workerRange({ workers: '4..1' })).toThrow(/--workers 4\.\.1/);
    expect(() => workerRange({ workers: '0' })).toThrow(/MAX >= 1/);
  });
});

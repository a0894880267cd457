// A split's tasks become queue entries per node, sealed at the batch size; a job of one entry is marked for its worker to reduce.
import { describe, expect, it } from 'vitest';
import { EntryBatcher, WHOLE_MAX_INPUT_CHARS, markWhole } from '../../src/scheduler/entry-batcher.js';
import type { QueueEntry, Task } from '../../src/scheduler/queue-entry.js';
import { batchTasks } from '../../src/transport/task-batch.js';
import { jobRecord } from '../helpers/job-record.js';

const task = (i: number): Task => [i, { n: i }];
const indices = (ready: Map<string, QueueEntry[]>) => Object.fromEntries([...ready].map(([node, list]) => [node, list.map((e) => batchTasks(e.data).map(([i]) => i))]));

describe('EntryBatcher', () => {
  it('seals a node’s entry once it holds batchSize tasks; the rest of each node’s tasks are sealed when taken', () => {
    const batches = new EntryBatcher(jobRecord(), 1, { batchSize: 3, perCall: 1 });
    for (const [i, node] of ['a', 'b', 'a', 'a', 'a', 'b', 'a', 'a'].entries()) batches.add(node, task(i));
    expect(indices(batches.takeReady())).toEqual({ a: [[0, 2, 3], [4, 6, 7]], b: [[1, 5]] });
  });

  it('seals a node’s entry once its tasks’ inputs reach maxEntryBytes of JSON, whatever the batch size', () => {
    // Inputs of about 1,000 characters (with the index and brackets): 10 fit in 10,000.
    const big = (i: number): Task => [i, 'x'.repeat(982)];
    const batches = new EntryBatcher(jobRecord(), 1, { batchSize: 1_000, perCall: 1_000 }, undefined, 10_000);
    for (let i = 0; i < 25; i++) batches.add('a', big(i));
    const sizes = [...batches.takeReady().get('a')!].map((e) => e.data.taskCount);
    expect(sizes).toEqual([10, 10, 5]);
    // Tiny inputs: the batch size seals first.
    const tiny = new EntryBatcher(jobRecord(), 1, { batchSize: 100, perCall: 100 }, undefined, 10_000);
    for (let i = 0; i < 250; i++) tiny.add('a', [i, i]);
    expect([...tiny.takeReady().get('a')!].map((e) => e.data.taskCount)).toEqual([100, 100, 50]);
  });

  it('groups a keyed job’s tasks by key in each entry, keys in the order they first came (one cache load per key and entry)', () => {
    const batches = new EntryBatcher(jobRecord(), 1, { batchSize: 6, perCall: 2 });
    // Interleaved as shard-search splits them: shard 0, 1, 2, 0, 1, 2, …
    for (let i = 0; i < 8; i++) batches.add(i % 2 === 0 ? 'a' : 'b', task(i), `shard:${i % 3}`);
    const ready = batches.takeReady();
    expect(indices(ready)).toEqual({ a: [[0, 6, 2, 4]], b: [[1, 7, 3, 5]] }); // a: keys 0,2,1,0 → 0,0,2,1
    // Task 0 stays first: a job of one entry can still be reduced by its worker (markWhole).
    const one = new EntryBatcher(jobRecord(), 1, { batchSize: 10, perCall: 10 });
    for (let i = 0; i < 4; i++) one.add('a', task(i), `k${i % 2}`);
    expect(indices(one.takeReady())).toEqual({ a: [[0, 2, 1, 3]] });
  });

  it('leaves tasks without a key, or with a key each, in the order they came', () => {
    const batches = new EntryBatcher(jobRecord(), 1, { batchSize: 10, perCall: 2 });
    for (let i = 0; i < 4; i++) batches.add('a', task(i), `job:${i}`);
    for (let i = 4; i < 6; i++) batches.add('b', task(i));
    expect(indices(batches.takeReady())).toEqual({ a: [[0, 1, 2, 3]], b: [[4, 5]] });
  });

  it('hands each entry over once: what is taken is gone, and tasks added later start new entries', () => {
    const batches = new EntryBatcher(jobRecord(), 1, { batchSize: 2, perCall: 2 });
    batches.add('a', task(0));
    batches.add('a', task(1));
    batches.add('a', task(2));
    expect(indices(batches.takeReady())).toEqual({ a: [[0, 1], [2]] });
    expect(batches.takeReady().size).toBe(0);
    batches.add('a', task(3));
    expect(indices(batches.takeReady())).toEqual({ a: [[3]] });
  });

  it('entries take the shape they are sealed with: a re-measured task time changes the entries after it', () => {
    const batches = new EntryBatcher(jobRecord(), 5, { batchSize: 4, perCall: 2 });
    for (let i = 0; i < 6; i++) batches.add('a', task(i)); // one entry of 4 sealed, 2 tasks pending
    batches.reshape({ batchSize: 1, perCall: 1 });
    expect(batches.shape).toEqual({ batchSize: 1, perCall: 1 });
    batches.add('a', task(6)); // the pending tasks already hold more than a batch: sealed with it
    const [first, second] = batches.takeReady().get('a') ?? [];
    expect(first?.data).toMatchObject({ term: 5, perCall: 2 });
    expect(batchTasks(first!.data).map(([i]) => i)).toEqual([0, 1, 2, 3]);
    expect(second?.data).toMatchObject({ term: 5, perCall: 1 });
    expect(batchTasks(second!.data).map(([i]) => i)).toEqual([4, 5, 6]);
  });

  it('entries are built from the job: its name, limits and an id from its first task and the term', () => {
    const batches = new EntryBatcher(jobRecord({ id: 'j9' }), 7, { batchSize: 10, perCall: 10 });
    batches.add('a', task(3));
    const [entry] = batches.takeReady().get('a') ?? [];
    expect(entry).toMatchObject({ name: 'primes', data: { jobId: 'j9', term: 7, taskTimeoutMs: 1_500 }, opts: { jobId: 'j9-3-t7', attempts: 5 } });
  });
});

describe('markWhole', () => {
  const MAX = 1_000;
  /** The entries a split of `total` tasks sealed, as EntryBatcher hands them over. */
  const readyOf = (job = jobRecord(), byNode: Record<string, number[]>, perCall = 100) => {
    const batches = new EntryBatcher(job, 1, { batchSize: 100, perCall });
    for (const [node, list] of Object.entries(byNode)) for (const i of list) batches.add(node, task(i));
    return batches.takeReady();
  };

  it('marks the entry of a job whose every task is in it, run as one call, for its worker to reduce', () => {
    const job = jobRecord({ input: { to: 30 }, resultType: 'json' });
    const ready = readyOf(job, { a: [0, 1, 2] });
    markWhole(job, ready, 3, MAX);
    expect(ready.get('a')?.[0]?.data.whole).toEqual({ total: 3, input: { to: 30 }, resultType: 'json', maxResultBytes: MAX, resultTtlSec: 86_400 });
  });

  it('leaves the entries alone when the job is spread over several entries or nodes, or shared between threads', () => {
    for (const [ready, total] of [
      [readyOf(undefined, { a: [0, 1], b: [2] }), 3],
      [readyOf(undefined, { a: [0, 1, 2] }, 1), 3], // perCall: the node's threads share it
    ] as const) {
      markWhole(jobRecord(), ready, total, MAX);
      for (const list of ready.values()) for (const entry of list) expect(entry.data.whole).toBeUndefined();
    }
    const two = new EntryBatcher(jobRecord(), 1, { batchSize: 2, perCall: 2 });
    for (let i = 0; i < 3; i++) two.add('a', task(i));
    const ready = two.takeReady();
    markWhole(jobRecord(), ready, 3, MAX);
    expect(ready.get('a')?.map((e) => e.data.whole)).toEqual([undefined, undefined]);
  });

  it('leaves the entry alone when it is not every task of the job (a resumed or re-split job), or the input is too large to carry', () => {
    const resumed = readyOf(undefined, { a: [2, 3] });
    markWhole(jobRecord(), resumed, 4, MAX);
    expect(resumed.get('a')?.[0]?.data.whole).toBeUndefined();
    const offset = readyOf(undefined, { a: [1, 2, 3] }); // as many tasks as the job, but not from task 0
    markWhole(jobRecord(), offset, 3, MAX);
    expect(offset.get('a')?.[0]?.data.whole).toBeUndefined();
    const big = jobRecord({ input: { text: 'x'.repeat(WHOLE_MAX_INPUT_CHARS) } });
    const ready = readyOf(big, { a: [0, 1] });
    markWhole(big, ready, 2, MAX);
    expect(ready.get('a')?.[0]?.data.whole).toBeUndefined();
  });

  it('does nothing when nothing is left to enqueue', () => {
    const ready = new Map<string, QueueEntry[]>([['a', []]]);
    markWhole(jobRecord(), ready, 0, MAX);
    expect(ready.get('a')).toEqual([]);
  });
});

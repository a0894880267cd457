// The fair-share arithmetic: windows follow weights and tenant caps, entries fit the lightest window.
import { describe, expect, it } from 'vitest';
import { FairShare, checkpointWithin, fitToWindow, UNMEASURED_TASK_MICROS } from '../../src/scheduler/fair-share.js';

const fair = (tenantMaxThreads?: (t: string) => number | undefined) => new FairShare({ windowMicrosPerThread: 200_000, maxWindow: 50_000, ...(tenantMaxThreads ? { tenantMaxThreads } : {}) });

describe('FairShare', () => {
  it('a job alone has the whole capacity; jobs that join split it by weight, and get it back when the others leave', () => {
    const f = fair();
    f.join('a', { weight: 5, tenant: 't1' });
    expect(f.window('a', 4, 10_000)).toBe(80); // 4 threads × 200 ms / 10 ms
    f.join('b', { weight: 15, tenant: 't2' });
    expect(f.window('a', 4, 10_000)).toBe(20);
    expect(f.window('b', 4, 10_000)).toBe(60);
    f.leave('b');
    expect(f.window('a', 4, 10_000)).toBe(80);
  });

  it('a window is at least a task running and one waiting on its thread, at most maxWindow, and assumes a task time while none is measured', () => {
    const f = fair();
    f.join('a', { weight: 1, tenant: 't' });
    expect(f.window('a', 1, 10_000_000)).toBe(2);
    expect(f.window('a', 64, 1)).toBe(50_000);
    expect(f.window('a', 2, undefined)).toBe(Math.floor(400_000 / UNMEASURED_TASK_MICROS));
    expect(f.window('nobody', 2, 1_000)).toBe(1);
  });

  it("tasks longer than a thread's window of work: a task running and one waiting on each thread of the job's share", () => {
    const f = fair();
    f.join('a', { weight: 1, tenant: 't1' });
    expect(f.window('a', 2, 500_000)).toBe(4); // counted in work alone: 2 × 200 ms / 500 ms, one task
    f.join('b', { weight: 3, tenant: 't2' });
    expect(f.window('a', 4, 1_000_000)).toBe(2); // a quarter of 4 threads: one thread
    expect(f.window('b', 4, 1_000_000)).toBe(6);
    f.join('c', { weight: 2, tenant: 't3' });
    expect(f.window('a', 6, 2_000_000)).toBe(2); // 2 × ⅙ × 6, not 3 by a rounding error
  });

  it("a tenant's thread cap shrinks its jobs' windows alike; other tenants keep theirs", () => {
    const f = fair((t) => (t === 'capped' ? 1 : undefined));
    f.join('c1', { weight: 1, tenant: 'capped' });
    f.join('c2', { weight: 1, tenant: 'capped' });
    f.join('o', { weight: 2, tenant: 'other' });
    // 'capped' would have half of 8 threads (4); its cap of 1 thread scales its jobs by 1/4.
    expect(f.window('c1', 8, 10_000)).toBe(10);
    expect(f.window('c2', 8, 10_000)).toBe(10);
    expect(f.window('o', 8, 10_000)).toBe(80);
  });

  it('entries of every job are fitted to the window the lightest job has', () => {
    const f = fair();
    f.join('light', { weight: 1, tenant: 't' });
    f.join('heavy', { weight: 3, tenant: 't' });
    expect(f.entryWindow('heavy', 4, 10_000)).toBe(f.window('light', 4, 10_000));
  });
});

describe('fitToWindow and checkpointWithin', () => {
  it('entries shrink so a window spans two per node; shapes already small stay', () => {
    expect(fitToWindow({ batchSize: 50, perCall: 2 }, 20, 2)).toEqual({ batchSize: 5, perCall: 2 });
    expect(fitToWindow({ batchSize: 50, perCall: 10 }, 4, 4)).toEqual({ batchSize: 1, perCall: 1 });
    expect(fitToWindow({ batchSize: 3, perCall: 1 }, 1000, 1)).toEqual({ batchSize: 3, perCall: 1 });
  });

  it('checkpoints come every half window, never later than the regular ones', () => {
    expect(checkpointWithin(2000, 40)).toBe(20);
    expect(checkpointWithin(2000, 1)).toBe(1);
    expect(checkpointWithin(2000, 100_000)).toBe(2000);
  });

  it('windows of light jobs are right on average as the measured task time moves (rounded to the nearest task, not down)', () => {
    // Weights 1:2:3:4 on 4 threads; the measured task time wanders between 15 and 25 ms from one
    // checkpoint to the next. The weight-1 job's window is 3–5 tasks: rounding down would give it
    // ~13 % less than its share on average, and the weight-4 job ~3 % less.
    const f = fair();
    const weights = [1, 2, 3, 4];
    weights.forEach((weight, j) => f.join(`j${j}`, { weight, tenant: `t${j}` }));
    const held = weights.map(() => 0);
    const exact = weights.map(() => 0);
    for (let micros = 15_000; micros <= 25_000; micros += 37) {
      weights.forEach((weight, j) => {
        held[j] = (held[j] as number) + f.window(`j${j}`, 4, micros);
        exact[j] = (exact[j] as number) + ((weight / 10) * 4 * 200_000) / micros;
      });
    }
    for (const [j, h] of held.entries()) expect(Math.abs(h / (exact[j] as number) - 1)).toBeLessThan(0.03);
  });

  it('a deficit gives a job back what a steady bias took from it, and the shares come to the weights', () => {
    // A pool of 400 tasks/s shared in proportion to what each job keeps queued; but the light jobs
    // keep less than their windows (a weight-1 job 15 % less, as its results come back in whole
    // entries and are seen a poll late). Every 10 ms each job's split looks at its done count.
    const weights = [1, 2, 3, 4];
    const bias = [0.15, 0.06, 0.02, 0];
    const f = fair();
    weights.forEach((weight, j) => f.join(`j${j}`, { weight, tenant: `t${j}` }));
    const done = weights.map(() => 0);
    const servedFrom = weights.map(() => 0);
    for (let now = 0; now <= 60_000; now += 10) {
      const queued = weights.map((_, j) => f.window(`j${j}`, 4, 10_000) * (1 - (bias[j] as number)));
      const all = queued.reduce((a, b) => a + b, 0);
      weights.forEach((_, j) => {
        done[j] = (done[j] as number) + (400 * 0.01 * (queued[j] as number)) / all;
        f.observe(`j${j}`, Math.floor(done[j] as number), now, 4, true);
      });
      if (now === 40_000) done.forEach((d, j) => (servedFrom[j] = d));
    }
    const served = done.map((d, j) => d - (servedFrom[j] as number));
    const total = served.reduce((a, b) => a + b, 0);
    weights.forEach((weight, j) => expect(Math.abs((served[j] as number) / total / (weight / 10) - 1)).toBeLessThan(0.03));
    // A job whose split stopped waiting for capacity (slower than its share) is owed nothing.
    f.observe('j0', Math.floor(done[0] as number) + 1, 62_000, 4, false);
    expect(f.window('j0', 4, 10_000)).toBe(8);
  });
});

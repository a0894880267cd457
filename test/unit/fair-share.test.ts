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

  it('a window is at least one task, at most maxWindow, and assumes a task time while none is measured', () => {
    const f = fair();
    f.join('a', { weight: 1, tenant: 't' });
    expect(f.window('a', 1, 10_000_000)).toBe(1);
    expect(f.window('a', 64, 1)).toBe(50_000);
    expect(f.window('a', 2, undefined)).toBe(Math.floor(400_000 / UNMEASURED_TASK_MICROS));
    expect(f.window('nobody', 2, 1_000)).toBe(1);
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
});

// The automatic batch shape: entries of about half a second of work, thread calls of a few tens of ms, never empty.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNMEASURED_FIRST_CHECKPOINT, batchShape, checkpointAfter, firstCheckpoint, openingCheckpoint } from '../../src/scheduler/batch-shape.js';
import { SCHEDULER_DEFAULTS } from '../../src/scheduler/scheduler.js';

const OPTIONS = SCHEDULER_DEFAULTS;
const micros = fc.integer({ min: 1, max: 120_000_000 });

describe('batchShape', () => {
  it('an unmeasured job type goes one task per entry and per call', () => {
    expect(batchShape(undefined, OPTIONS)).toEqual({ batchSize: 1, perCall: 1 });
  });

  it('long tasks: several per entry, one per thread call, so each runs on its own thread', () => {
    // 50 ms tasks (the speedup bench): 10 per 500 ms entry, shared by the node's threads.
    expect(batchShape(50_000, OPTIONS)).toEqual({ batchSize: 10, perCall: 1 });
    // Longer than an entry's target: one per entry.
    expect(batchShape(5_000_000, OPTIONS)).toEqual({ batchSize: 1, perCall: 1 });
  });

  it('tiny tasks: entries capped at maxBatchSize while the result size is unmeasured, calls of about targetCallMicros', () => {
    expect(batchShape(1, OPTIONS)).toEqual({ batchSize: 1_000, perCall: 1_000 });
    expect(batchShape(1_000, OPTIONS)).toEqual({ batchSize: 500, perCall: 20 });
  });

  it('tiny tasks with a measured result size: entries bounded by maxEntryBytes of results, not by a count', () => {
    // 8-byte results (a number): 131,072 fit in 1 MiB; 500,000 tasks of 1 µs make the time target.
    expect(batchShape(1, OPTIONS, 0, 8)).toEqual({ batchSize: 131_072, perCall: 20_000 });
    // 100 KiB results: ten per entry, though 500 would make the time target.
    expect(batchShape(1_000, OPTIONS, 0, 100 * 1024)).toEqual({ batchSize: 10, perCall: 10 });
    // Large results still get an entry of one; a job's own batchSize is kept.
    expect(batchShape(1, OPTIONS, 0, 8 * 1024 * 1024).batchSize).toBe(1);
    expect(batchShape(1, OPTIONS, 7, 8).batchSize).toBe(7);
  });

  it('a job’s own batchSize is kept; its calls are sized from the measured time, or one call while unmeasured', () => {
    expect(batchShape(50_000, OPTIONS, 10)).toEqual({ batchSize: 10, perCall: 1 });
    expect(batchShape(undefined, OPTIONS, 10)).toEqual({ batchSize: 10, perCall: 10 });
    expect(batchShape(1, OPTIONS, 7)).toEqual({ batchSize: 7, perCall: 7 });
  });

  it('every shape is whole, non-empty, within the cap, and a call never exceeds its entry', () => {
    fc.assert(
      fc.property(fc.option(micros, { nil: undefined }), fc.integer({ min: 0, max: 10_000 }), fc.option(fc.integer({ min: 1, max: 1 << 24 }), { nil: undefined }), (m, fixed, bytes) => {
        const { batchSize, perCall } = batchShape(m, OPTIONS, fixed, bytes);
        expect(Number.isInteger(batchSize) && Number.isInteger(perCall)).toBe(true);
        expect(perCall).toBeGreaterThanOrEqual(1);
        expect(perCall).toBeLessThanOrEqual(batchSize);
        if (fixed > 0) expect(batchSize).toBe(fixed);
        else if (bytes === undefined) expect(batchSize).toBeLessThanOrEqual(OPTIONS.maxBatchSize);
        else if (batchSize > 1) expect(batchSize * bytes).toBeLessThanOrEqual(OPTIONS.maxEntryBytes);
      }),
    );
  });

  it('an entry holds at most its target of work unless one task alone is more', () => {
    fc.assert(
      fc.property(micros, (m) => {
        const { batchSize, perCall } = batchShape(m, OPTIONS);
        if (batchSize > 1) expect(batchSize * m).toBeLessThanOrEqual(OPTIONS.targetEntryMicros);
        if (perCall > 1) expect(perCall * m).toBeLessThanOrEqual(OPTIONS.targetCallMicros);
      }),
    );
  });
});

describe('firstCheckpoint', () => {
  it('comes once every thread of the cluster has a call running and one waiting', () => {
    expect(firstCheckpoint({ batchSize: 10, perCall: 1 }, 2, 2_000)).toBe(10);
    expect(firstCheckpoint({ batchSize: 4, perCall: 1 }, 6, 2_000)).toBe(12);
    expect(firstCheckpoint({ batchSize: 1_000, perCall: 1_000 }, 2, 8_000)).toBe(4_000);
  });

  it('never later than a regular checkpoint, never before one full entry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 0, max: 512 }), (batchSize, call, threads) => {
        const perCall = Math.min(call, batchSize);
        const regular = Math.max(2_000, batchSize * 8);
        const first = firstCheckpoint({ batchSize, perCall }, threads, regular);
        expect(first).toBeLessThanOrEqual(regular);
        expect(first).toBeGreaterThanOrEqual(batchSize);
      }),
    );
  });
});

describe('checkpointAfter', () => {
  it('is checkpointEvery tasks, or eight entries when that is more', () => {
    expect(checkpointAfter({ batchSize: 10, perCall: 1 }, 2_000)).toBe(2_000);
    expect(checkpointAfter({ batchSize: 1_000, perCall: 20 }, 2_000)).toBe(8_000);
    expect(checkpointAfter({ batchSize: 250, perCall: 20 }, 2_000)).toBe(2_000);
  });
});

describe('openingCheckpoint', () => {
  it('an unmeasured job type without a batch size of its own: after a fixed few tasks, whatever the cluster', () => {
    expect(UNMEASURED_FIRST_CHECKPOINT).toBe(128);
    const shape = batchShape(undefined, OPTIONS);
    expect(openingCheckpoint(undefined, 0, shape, 2, 2_000)).toBe(UNMEASURED_FIRST_CHECKPOINT);
    expect(openingCheckpoint(undefined, 0, shape, 512, 2_000)).toBe(UNMEASURED_FIRST_CHECKPOINT);
  });

  it('a measured job type, or one with its own batch size: once every thread has a call running and one waiting', () => {
    expect(openingCheckpoint(50_000, 0, batchShape(50_000, OPTIONS), 6, 2_000)).toBe(12);
    expect(openingCheckpoint(undefined, 7, batchShape(undefined, OPTIONS, 7), 2, 2_000)).toBe(28);
    // Tiny tasks: capped at a regular checkpoint, which eight full entries lengthen.
    expect(openingCheckpoint(1, 0, batchShape(1, OPTIONS), 64, 2_000)).toBe(8_000);
  });
});

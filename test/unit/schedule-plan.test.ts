// Which ticks of a schedule are due, as a leader plans them: ticks due since it leads (or just before) fire each, older missed ones skip or run once, and a tick's job id is fixed by schedule + tick.
import { describe, expect, it } from 'vitest';
import { isJobId } from '../../src/store/job-store.js';
import { parseCron, tickJobId } from '../../src/store/schedule-store.js';
import { ON_TIME_MS, planTicks } from '../../src/scheduler/schedule-runner.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const everySecond = parseCron('* * * * * *', 'UTC');
/** What a leader that began to lead at `since` counts as missed: ticks at or before this. */
const leadingSince = (since: number) => since - ON_TIME_MS;

describe('planTicks', () => {
  it('nothing is due before the next tick', () => {
    expect(planTicks(everySecond, T0, T0 + 999, 'skip', leadingSince(T0))).toBeUndefined();
  });

  it('each tick due since the leader leads fires once, in order, and the plan ends at the last', () => {
    expect(planTicks(everySecond, T0, T0 + 2_500, 'skip', leadingSince(T0))).toEqual({ fire: [T0 + 1_000, T0 + 2_000], upTo: T0 + 2_000 });
  });

  it('a leader that led all along fires every tick, however late its pass (a slow pass is not an outage)', () => {
    const plan = planTicks(everySecond, T0, T0 + 10_500, 'skip', leadingSince(T0));
    expect(plan?.fire).toEqual(Array.from({ length: 10 }, (_, i) => T0 + 1_000 * (i + 1)));
  });

  it('skip: a new leader passes over ticks older than ON_TIME_MS before it began to lead', () => {
    expect(planTicks(everySecond, T0, T0 + 10_500, 'skip', leadingSince(T0 + 10_500))).toEqual({ fire: [T0 + 9_000, T0 + 10_000], upTo: T0 + 10_000 });
  });

  it('run-once: one job for the missed ticks, as the latest of them, then the on-time ones', () => {
    expect(planTicks(everySecond, T0, T0 + 10_500, 'run-once', leadingSince(T0 + 10_500))).toEqual({ fire: [T0 + 8_000, T0 + 9_000, T0 + 10_000], upTo: T0 + 10_000 });
  });

  it('a whole outage of a daily schedule: skip fires nothing but moves past it; run-once runs it once', () => {
    const daily = parseCron('0 2 * * *', 'Europe/Berlin');
    const now = T0 + 3 * 86_400_000;
    const skip = planTicks(daily, T0, now, 'skip', leadingSince(now));
    expect(skip?.fire).toEqual([]);
    expect(skip?.upTo).toBe(Date.UTC(2026, 0, 3, 1, 0, 0)); // 02:00 in Berlin is 01:00 UTC in winter
    expect(planTicks(daily, T0, now, 'run-once', leadingSince(now))?.fire).toEqual([Date.UTC(2026, 0, 3, 1, 0, 0)]);
  });

  it('a tick already dealt with is never planned again', () => {
    expect(planTicks(everySecond, T0 + 2_000, T0 + 2_500, 'run-once', leadingSince(T0 + 2_500))).toBeUndefined();
  });
});

describe('tickJobId', () => {
  it('is a job id, the same for the same schedule and tick, another for another tick or schedule', () => {
    const id = tickJobId('sch-0123456789ab', T0);
    expect(isJobId(id)).toBe(true);
    expect(id.startsWith(`${T0.toString(36)}-`)).toBe(true);
    expect(tickJobId('sch-0123456789ab', T0)).toBe(id);
    expect(tickJobId('sch-0123456789ab', T0 + 1_000)).not.toBe(id);
    expect(tickJobId('sch-ba9876543210', T0)).not.toBe(id);
  });
});

// TimerGrid: the idle loops of a process wake on one grid, from one timer (docs/performance.md, "Idle: where the CPU goes").
import { describe, expect, it } from 'vitest';
import { TimerGrid } from '../../src/timer-grid.js';

describe('TimerGrid', () => {
  it('places a delay on the grid instant nearest to it, never at or before now', () => {
    const grid = new TimerGrid({ stepMs: 500 });
    expect(grid.instantAfter(1000, 10_000)).toBe(11_000);
    // A loop that waits again a moment after its wake-up (a Redis reply later) lands back on the grid.
    expect(grid.instantAfter(1000, 10_003)).toBe(11_000);
    expect(grid.instantAfter(1000, 10_240)).toBe(11_000);
    expect(grid.instantAfter(1000, 10_260)).toBe(11_500);
    expect(grid.instantAfter(100, 10_000)).toBe(10_500);
    expect(grid.instantAfter(0, 10_000)).toBe(10_500);
  });

  it('runs every callback of one instant from one timer callback, before any of their microtasks', async () => {
    const grid = new TimerGrid({ stepMs: 20 });
    const at = grid.instantAfter(40);
    const ran: string[] = [];
    const sawAtFirstMicrotask = new Promise<string[]>((resolve) => {
      grid.at(at, () => {
        ran.push('a');
        // Separate timers would let this microtask run between 'a' and 'b'.
        queueMicrotask(() => resolve([...ran]));
      });
      grid.at(at, () => ran.push('b'));
      grid.at(at, () => ran.push('c'));
    });
    expect(await sawAtFirstMicrotask).toEqual(['a', 'b', 'c']);
    expect(grid.size).toBe(0);
  });

  it('does not run a cancelled callback, and runs the others', async () => {
    const grid = new TimerGrid({ stepMs: 20 });
    const ran: string[] = [];
    const cancel = grid.after(20, () => ran.push('cancelled'));
    const kept = new Promise<void>((resolve) => grid.after(60, () => resolve(void ran.push('kept'))));
    cancel();
    await kept;
    expect(ran).toEqual(['kept']);
    expect(grid.size).toBe(0);
  });

  it('every() runs on successive grid instants until stopped', async () => {
    const grid = new TimerGrid({ stepMs: 10 });
    let runs = 0;
    let stop: () => void = () => {};
    await new Promise<void>((resolve) => {
      stop = grid.every(20, () => {
        runs++;
        if (runs === 3) resolve();
      });
    });
    stop();
    expect(grid.size).toBe(0);
    await grid.sleep(60);
    expect(runs).toBe(3);
  });

  it('refuses a step below 1 ms, an instant off the grid and a period that is not a multiple of the step', () => {
    expect(() => new TimerGrid({ stepMs: 0 })).toThrow(/stepMs must be an integer >= 1, got 0/);
    const grid = new TimerGrid({ stepMs: 500 });
    expect(() => grid.at(1250, () => {})).toThrow(/at must be a multiple of the grid step 500, got 1250/);
    expect(() => grid.every(750, () => {})).toThrow(/periodMs must be a multiple of the grid step 500, got 750/);
  });
});

// IdleBackoff: the delays of the polling loops that slow down while nothing changes (docs/performance.md, round two).
import { describe, expect, it } from 'vitest';
import { IdleBackoff } from '../../src/scheduler/idle-backoff.js';

describe('IdleBackoff', () => {
  it('doubles after each quiet pass up to maxMs and drops to minMs after a change', () => {
    const b = new IdleBackoff({ minMs: 250, maxMs: 1000 });
    expect([false, false, false, false].map((c) => b.next(c))).toEqual([500, 1000, 1000, 1000]);
    expect(b.next(true)).toBe(250);
    expect(b.next(false)).toBe(500);
    b.reset();
    expect(b.next(false)).toBe(500);
    expect(b.next(true)).toBe(250);
  });

  it('stays at minMs when min and max are equal (back-off off)', () => {
    const b = new IdleBackoff({ minMs: 200, maxMs: 200 });
    expect([false, true, false].map((c) => b.next(c))).toEqual([200, 200, 200]);
  });

  it('refuses a max below the min and a min below 1, naming the option', () => {
    expect(() => new IdleBackoff({ minMs: 500, maxMs: 100 })).toThrow(/maxMs must be an integer >= minMs \(500\), got 100/);
    expect(() => new IdleBackoff({ minMs: 0, maxMs: 100 })).toThrow(/minMs must be an integer >= 1, got 0/);
  });
});

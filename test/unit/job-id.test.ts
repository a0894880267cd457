// Job ids: time-ordered, unguessable, well-formed, and distinct however fast they are drawn.
import { describe, expect, it } from 'vitest';
import { isJobId, newJobId } from '../../src/store/job-store.js';

describe('newJobId', () => {
  it('gives distinct, well-formed ids in a burst longer than one block of drawn random bytes', () => {
    // 5 random bytes an id, drawn 4,096 bytes at a time: 2,000 ids cross two block refills.
    const ids = Array.from({ length: 2_000 }, () => newJobId(1_700_000_000_000));
    expect(ids.every(isJobId)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // The random part differs between consecutive ids (no byte run served twice across a refill).
    const randoms = ids.map((id) => id.split('-')[1]);
    expect(new Set(randoms).size).toBe(randoms.length);
  });

  it('starts with the creation time in base 36, so ids sort by it', () => {
    expect(newJobId(1_700_000_000_000).startsWith((1_700_000_000_000).toString(36) + '-')).toBe(true);
    expect(newJobId(1_700_000_000_001) > newJobId(1_700_000_000_000)).toBe(true);
  });
});

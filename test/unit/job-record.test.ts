// A job hash read back from Redis becomes a typed record; its options come back with the defaults under them.
import { describe, expect, it } from 'vitest';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { parseJobHash } from '../../src/store/job-record.js';

const HASH = { id: 'j1', name: 'primes', status: 'queued', input: '{"to":10}', createdAt: '1000' };

describe('parseJobHash', () => {
  it('a job stored before an option existed reads back with that option’s default', () => {
    // Stored by a version that knew only these three options.
    const job = parseJobHash({ ...HASH, options: JSON.stringify({ retries: 5, taskTimeoutMs: 1_000, taskMemoryMb: 64 }) });
    expect(job?.options).toEqual({ ...JOB_OPTION_DEFAULTS, retries: 5, taskTimeoutMs: 1_000, taskMemoryMb: 64 });
    expect(job?.options.batchSize).toBe(0);
    expect(job?.options.resultTtlSec).toBe(86_400);
  });

  it('a stored option is kept over its default, and a hash without options reads back with every default', () => {
    expect(parseJobHash({ ...HASH, options: JSON.stringify({ ...JOB_OPTION_DEFAULTS, batchSize: 7, resultTtlSec: 60 }) })?.options).toEqual({
      ...JOB_OPTION_DEFAULTS,
      batchSize: 7,
      resultTtlSec: 60,
    });
    expect(parseJobHash(HASH)?.options).toEqual(JOB_OPTION_DEFAULTS);
  });

  it('the options read back are frozen, like those resolved at submission', () => {
    expect(Object.isFrozen(parseJobHash({ ...HASH, options: '{"retries":1}' })?.options)).toBe(true);
  });

  it('a missing hash is no record', () => {
    expect(parseJobHash({})).toBeUndefined();
  });
});

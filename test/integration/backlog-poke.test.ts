// The backlog signal's poke (src/scheduler/backlog.ts) against a real Redis: every job's wake-up pokes it, so a stream of jobs must not take a full sample per job.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BacklogSignal } from '../../src/scheduler/backlog.js';
import type { Membership } from '../../src/scheduler/membership.js';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { JobStore, newJobId } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { until } from '../helpers/poll.js';
import { uniquePrefix } from '../helpers/prefix.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

/** A leader's signal with no worker node, sampling every `everyMs` on its own; counts its samples. */
function leaderSignal(everyMs: number) {
  const store = new JobStore(redis, createKeys(uniquePrefix('backlog')));
  const membership: Membership = { current: () => [], waitForNodes: async () => [], departed: () => [], forget: async () => {} };
  const leadership = { term: 1, onChange: () => () => {} };
  const backlog = new BacklogSignal(
    { store, membership, leadership, logger: pino({ level: 'silent' }) },
    { targetDrainMs: 1000, minNodes: 0, maxNodes: 4, defaultThreadsPerNode: 2, everyMs, idleEveryMs: everyMs },
  );
  let samples = 0;
  backlog.onSample(() => samples++);
  return { store, backlog, samples: () => samples };
}

describe('the backlog signal', () => {
  it('samples at the first poke, and takes no sample per poke for pokes within everyMs of it (a stream of small jobs)', async () => {
    // everyMs far beyond the test: every sample here comes from a poke.
    const { store, backlog, samples } = leaderSignal(600_000);
    backlog.start();
    try {
      await store.createJob({ id: newJobId(), name: 'primes', input: { from: 0, to: 10 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
      backlog.poke();
      await until('the first poke\'s sample', 10_000, () => (samples() === 1 ? true : undefined));
      expect(backlog.latest).toMatchObject({ reason: 'waiting-for-capacity', desired: 1 });
      // Each job's wake-up pokes: before the change each took a full sample of its own, at once.
      for (let i = 0; i < 5; i++) {
        backlog.poke();
        await new Promise((r) => setTimeout(r, 200));
        await redis.ping();
      }
      expect(samples()).toBe(1);
    } finally {
      await backlog.stop();
    }
  });
});

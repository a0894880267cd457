// JobEvents with LocalEnds (src/store/local-ends.ts) on a real Redis: an end this process's worker is writing is told by the writer once acknowledged; any other end as it is published.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { JobEvents } from '../../src/store/job-events.js';
import { createKeys } from '../../src/store/keys.js';
import { LocalEnds } from '../../src/store/local-ends.js';
import { uniquePrefix } from '../helpers/prefix.js';

const publisher = new Redis(inject('redisUrl'));
afterAll(() => publisher.disconnect());

/** JobEvents on a subscriber of its own, with `localEnds`; closed by the returned function. */
async function eventsWith(localEnds: LocalEnds): Promise<{ events: JobEvents; channel: string; close: () => Promise<void> }> {
  const keys = createKeys(uniquePrefix('local-ends'));
  const subscriber = new Redis(inject('redisUrl'));
  const events = new JobEvents(subscriber, keys, localEnds);
  await events.start();
  const close = async () => {
    await events.close();
    subscriber.disconnect();
  };
  return { events, channel: keys.events, close };
}

describe('an end written here', () => {
  it('reaches the waiters from the writer, acknowledged, whether its published end came first or not', async () => {
    const localEnds = new LocalEnds();
    const { events, channel, close } = await eventsWith(localEnds);
    try {
      localEnds.begin('job-a');
      const waiter = events.waitForEnd('job-a', 30_000);
      await publisher.publish(channel, 'end:job-a');
      localEnds.settle('job-a', { status: 'completed', json: '[1,2]' });
      expect(await waiter.ended).toEqual({ status: 'completed', json: '[1,2]' });
    } finally {
      await close();
    }
  });

  it('a write that did not end the job hands its published end back: the waiters read the job as for any end', async () => {
    const localEnds = new LocalEnds();
    const { events, channel, close } = await eventsWith(localEnds);
    try {
      localEnds.begin('job-b');
      const waiter = events.waitForEnd('job-b', 30_000);
      // Another end (a cancel's, a leader's reduce) published while the write was out; the write then ends nothing.
      const published = new Promise<void>((resolve) => events.waitForEnd('job-b-marker', 30_000).ended.then(() => resolve()));
      await publisher.publish(channel, 'end:job-b');
      await publisher.publish(channel, 'end:job-b-marker'); // delivered after the first: the first has been seen
      await published;
      localEnds.settle('job-b', undefined);
      expect(await waiter.ended).toBeUndefined();
    } finally {
      await close();
    }
  });

  it('an end written elsewhere wakes the waiters as it is published', async () => {
    const { events, channel, close } = await eventsWith(new LocalEnds());
    try {
      const waiter = events.waitForEnd('job-c', 30_000);
      await publisher.publish(channel, 'end:job-c');
      expect(await waiter.ended).toBeUndefined();
    } finally {
      await close();
    }
  });
});

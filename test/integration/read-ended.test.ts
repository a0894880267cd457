// readEnded (src/api/routes/job-reads.ts) against a real Redis master + replica: an ended job's record, its result and the end's WAIT confirmation go in one round trip.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readEnded } from '../../src/api/routes/job-reads.js';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { JobStore, newJobId } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { completeJob } from '../helpers/store-helpers.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

/** A job created and started on `store`; completed with result 42 unless `running`. */
async function jobOn(store: JobStore, running = false): Promise<string> {
  const id = newJobId();
  await store.createJob({ id, name: 'primes', input: { from: 0, to: 10 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
  await store.startJob(id, 1);
  if (!running) await completeJob(store, id, 1, { type: 'json', value: 42 }, 60);
  return id;
}

describe('readEnded', () => {
  it('sends the record and result reads and the end\'s confirmation (a write, then WAIT) in one socket write, the confirmation last', async () => {
    const own = new Redis(inject('redisUrl'));
    try {
      const store = new JobStore(own, createKeys(uniquePrefix('ended')), { minReplicas: 1, waitTimeoutMs: 30_000 });
      const id = await jobOn(store);
      const socket = own.stream;
      const write = socket.write.bind(socket);
      const sent: Array<{ corked: number; command: string }> = [];
      socket.write = ((chunk: unknown, ...rest: never[]) => {
        // The command's name is the second line of its RESP array.
        sent.push({ corked: socket.writableCorked, command: String(chunk).split('\r\n')[2]?.toLowerCase() ?? '' });
        return write(chunk as never, ...rest);
      }) as typeof socket.write;
      const { job, result } = await readEnded(store, id, 'json');
      socket.write = write;
      expect(job?.status).toBe('completed');
      expect(result).toEqual({ type: 'json', value: 42 });
      expect(sent.map((s) => s.command)).toEqual(['hgetall', 'get', 'incrby', 'wait']);
      expect(sent.every((s) => s.corked > 0)).toBe(true);
    } finally {
      own.disconnect();
    }
  });

  it('refuses an ended job whose end the replicas do not confirm (NOT_REPLICATED), and reads a running one all the same', async () => {
    const setup = new JobStore(redis, createKeys(uniquePrefix('ended')), { minReplicas: 1 });
    const ended = await jobOn(setup);
    const running = await jobOn(setup, true);
    // The test's Redis has one replica: two can never confirm.
    const strict = new JobStore(redis, setup.keys, { minReplicas: 2, waitTimeoutMs: 100 });
    await expect(readEnded(strict, ended, 'json')).rejects.toMatchObject({ code: 'NOT_REPLICATED', message: expect.stringContaining(`job ${ended} has ended on the Redis master`) });
    expect((await readEnded(strict, running, 'json')).job?.status).toBe('running');
  });
});

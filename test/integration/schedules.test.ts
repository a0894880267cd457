// /v1/schedules on a whole node: bad requests store nothing, a schedule fires its ticks, pause stops them, resume restarts them, delete removes it; the runner's missed-tick policies on a store of their own.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { ScheduleRunner } from '../../src/scheduler/schedule-runner.js';
import { JobStore } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { tickJobId } from '../../src/store/schedule-store.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { until } from '../helpers/poll.js';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({}, 'schedules');
});

afterAll(async () => {
  await node?.close();
});

const EVERY_SECOND = { job: 'primes', input: { from: 0, to: 50 }, cron: '* * * * * *' };

async function scheduleKeys(): Promise<string[]> {
  return [...(await node.redis.keys(`${node.prefix}:schedule:*`)), ...(await node.redis.keys(`${node.prefix}:schedules`))];
}

describe('POST /v1/schedules refuses a bad request, naming the field, and stores nothing', () => {
  const cases: Array<[string, Record<string, unknown>, number, RegExp]> = [
    ['a bad cron expression', { ...EVERY_SECOND, cron: 'every day' }, 400, /^cron: /],
    ['a cron field out of range', { ...EVERY_SECOND, cron: '61 * * * *' }, 400, /^cron: /],
    ['no cron', { job: 'primes', input: { from: 0, to: 5 } }, 400, /^cron: /],
    ['an unknown time zone', { ...EVERY_SECOND, timezone: 'Mars/Olympus' }, 400, /^timezone: /],
    ['an unknown job type', { ...EVERY_SECOND, job: 'no-such-job' }, 400, /unknown job type "no-such-job"/],
    ['input the job type refuses', { ...EVERY_SECOND, input: { from: 'zero', to: 5 } }, 400, /^input\.from: /],
    ['a bad option', { ...EVERY_SECOND, options: { retries: -1 } }, 400, /^options\.retries: /],
    ['a bad missed policy', { ...EVERY_SECOND, missed: 'twice' }, 400, /^missed: /],
    ['an unknown field', { ...EVERY_SECOND, every: 5 }, 400, /every/],
  ];
  for (const [what, body, status, message] of cases) {
    it(what, async () => {
      const res = await node.api('/v1/schedules', { body });
      expect(res.status).toBe(status);
      expect(res.body.error.message).toMatch(message);
      expect(await scheduleKeys()).toEqual([]);
      expect((await node.api('/v1/schedules')).body.schedules).toEqual([]);
    });
  }
});

describe('a schedule every second', () => {
  it('lists its next runs, fires its ticks as jobs that carry its id, stops while paused, fires again once resumed, and is deleted', async () => {
    const created = await node.api('/v1/schedules', { body: EVERY_SECOND });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ job: 'primes', cron: '* * * * * *', timezone: 'UTC', missed: 'skip', paused: false, runs: [] });

    const listed = (await node.api('/v1/schedules')).body.schedules;
    expect(listed.map((s: { id: string }) => s.id)).toEqual([id]);
    const next: number[] = listed[0].nextRuns;
    expect(next).toHaveLength(5);
    expect(next.every((t, i) => t % 1000 === 0 && (i === 0 || t - (next[i - 1] as number) === 1000))).toBe(true);

    const fired = await until('two ticks fired', 20_000, async () => {
      const s = (await node.api(`/v1/schedules/${id}`)).body;
      return s.runs.length >= 2 ? s : undefined;
    }, 100);
    const [latest] = fired.runs;
    expect(latest.jobId).toBe(tickJobId(id, latest.tick));
    const job = await node.waitForJob(latest.jobId);
    expect(job).toMatchObject({ status: 'completed', scheduleId: id, scheduledFor: latest.tick });

    const paused = await node.api(`/v1/schedules/${id}/pause`, { method: 'POST' });
    expect(paused.body).toMatchObject({ paused: true, nextRuns: [] });
    const runsAtPause = (await node.api(`/v1/schedules/${id}`)).body.runs.length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await node.api(`/v1/schedules/${id}`)).body.runs.length).toBe(runsAtPause);

    const resumedAt = Date.now();
    expect((await node.api(`/v1/schedules/${id}/resume`, { method: 'POST' })).body.paused).toBe(false);
    const after = await until('a tick after resume', 20_000, async () => {
      const s = (await node.api(`/v1/schedules/${id}`)).body;
      return s.runs.length > runsAtPause ? s : undefined;
    }, 100);
    // The ticks slept through while paused did not run when it resumed.
    expect(after.runs.filter((r: { tick: number }) => r.tick < resumedAt - 1000)).toHaveLength(runsAtPause);

    expect((await node.api(`/v1/schedules/${id}`, { method: 'DELETE' })).body).toEqual({ id, deleted: true });
    expect((await node.api(`/v1/schedules/${id}`)).status).toBe(404);
    expect((await node.api(`/v1/schedules/${id}/pause`, { method: 'POST' })).status).toBe(404);
    expect(await scheduleKeys()).toEqual([]);
  }, 60_000);
});

describe('the runner, at a chosen time, on a store of its own', () => {
  let redis: Redis;
  let store: JobStore;
  const T0 = Date.UTC(2026, 0, 1);
  const job = { name: 'primes', input: { from: 0, to: 5 }, options: JOB_OPTION_DEFAULTS, resultType: 'json' as const };

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    store = new JobStore(redis, createKeys(uniquePrefix('schedule-runner')));
  });
  afterAll(() => redis.disconnect());

  function runner(term: number): ScheduleRunner {
    return new ScheduleRunner({ store, registry: { get: () => undefined }, leadership: { term }, logger: pino({ level: 'silent' }) });
  }

  async function firedTicks(id: string): Promise<number[]> {
    return (await store.schedules.runs(id)).map((r) => r.tick).sort((a, b) => a - b);
  }

  it('after an outage, skip fires only the on-time ticks; run-once also one job for the missed ones; a second pass, or another leader, fires nothing twice', async () => {
    const skip = await store.schedules.create({ job, cron: '* * * * * *', timezone: 'UTC', missed: 'skip', paused: false }, T0);
    const once = await store.schedules.create({ job, cron: '* * * * * *', timezone: 'UTC', missed: 'run-once', paused: false }, T0);
    await runner(1).fireDue(1, T0 + 10_500);
    expect(await firedTicks(skip.id)).toEqual([T0 + 9_000, T0 + 10_000]);
    expect(await firedTicks(once.id)).toEqual([T0 + 8_000, T0 + 9_000, T0 + 10_000]);
    for (const [i, tick] of [T0 + 8_000, T0 + 9_000, T0 + 10_000].entries()) {
      expect(await store.getJob(tickJobId(once.id, tick)), `tick ${i}`).toMatchObject({ scheduleId: once.id, scheduledFor: tick, status: 'queued' });
    }
    expect((await store.schedules.get(skip.id))?.lastTick).toBe(T0 + 10_000);

    // The same pass again, by the next leader: every tick is dealt with already.
    await runner(2).fireDue(2, T0 + 10_900);
    expect(await firedTicks(once.id)).toEqual([T0 + 8_000, T0 + 9_000, T0 + 10_000]);
    expect((await store.schedules.get(once.id))?.lastTick).toBe(T0 + 10_000);
    // The next leader fires the next tick (its term is now the fence); the deposed one records nothing.
    await runner(2).fireDue(2, T0 + 11_100);
    await runner(1).fireDue(1, T0 + 12_200);
    expect((await store.schedules.get(once.id))?.lastTick).toBe(T0 + 11_000);
    // Its job for the tick it saw, if it made one, is the tick's own: the leader takes it as fired, once.
    await runner(2).fireDue(2, T0 + 12_300);
    expect(await firedTicks(once.id)).toEqual([T0 + 8_000, T0 + 9_000, T0 + 10_000, T0 + 11_000, T0 + 12_000]);
  });

  it("a tick whose job a leader created but did not record is not fired again by the next: the id is the tick's", async () => {
    const s = await store.schedules.create({ job, cron: '* * * * * *', timezone: 'UTC', missed: 'skip', paused: false }, T0);
    const tick = T0 + 1_000;
    await store.createJob({ id: tickJobId(s.id, tick), ...job, schedule: { id: s.id, tick } }, { now: tick });
    await runner(3).fireDue(3, T0 + 1_200);
    expect(await firedTicks(s.id)).toEqual([tick]);
    const ids = await redis.zrange(store.keys.jobs, 0, -1);
    expect(ids.filter((id) => id === tickJobId(s.id, tick))).toHaveLength(1);
  });
});

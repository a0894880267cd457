// A worker node whose lease lapsed and that heartbeats again is not taken for gone: its queue is not cleared under the tasks placed on it.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ControlState } from '../../src/scheduler/control-state.js';
import { RegistryMembership } from '../../src/scheduler/membership.js';
import { RaftMembership } from '../../src/scheduler/raft-membership.js';
import { createKeys } from '../../src/store/keys.js';
import { WorkerStore } from '../../src/store/worker-store.js';
import { uniquePrefix } from '../helpers/prefix.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

describe('RaftMembership.departed', () => {
  it('lists a retired node while its lease has lapsed, and no longer once it heartbeats again', async () => {
    const keys = createKeys(uniquePrefix('membership-return'));
    const registry = new RegistryMembership(new WorkerStore(redis, keys), { leaseMs: 2000 });
    const control = new ControlState();
    // Only departed() is asked here: the Raft node and the leadership are not reached.
    const membership = new RaftMembership({ registry, control, node: undefined as never, leadership: undefined as never, logger: pino({ level: 'silent' }) });
    const register = (heartbeatAt: number) =>
      redis.hset(keys.workers, 'w1', JSON.stringify({ id: 'w1', threads: 1, host: 'h', pid: 1, startedAt: 0, heartbeatAt, busy: 0, draining: false }));

    control.apply({ type: 'set-members', members: [{ id: 'w1', weight: 1 }] });
    control.apply({ type: 'set-members', members: [] }); // its removal committed: retired
    await register(Date.now() - 10_000);
    await registry.refresh();
    expect(membership.departed()).toMatchObject([{ id: 'w1', lapsed: true }]);

    await register(Date.now()); // back: a pause, a Redis failover longer than its lease
    await registry.refresh();
    expect(registry.current().map((n) => n.id)).toEqual(['w1']);
    expect(membership.departed()).toEqual([]);
  });
});

// Deployed job types in a real Redis master + replica: versions, content addressing, activation, deletion rules, WAIT.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { JobStore, newJobId } from '../../src/store/job-store.js';
import { codeDigest } from '../../src/store/job-type-store.js';
import { createKeys } from '../../src/store/keys.js';
import { uniquePrefix } from '../helpers/prefix.js';

const redis = new Redis(inject('redisUrl'));
const replica = new Redis(inject('redisReplicaUrl'));
afterAll(() => {
  redis.disconnect();
  replica.disconnect();
});

const meta = { deployedBy: 'tok-test', description: 'd', resultType: 'json' };

function newStore() {
  return new JobStore(redis, createKeys(uniquePrefix('jt')), { minReplicas: 1, waitTimeoutMs: 30_000 });
}

describe('JobTypeStore', () => {
  it('numbers versions, keeps each version\'s code by digest, and makes the newest active', async () => {
    const store = newStore();
    const jt = store.jobTypes;
    expect(await jt.revision()).toBe(0);
    expect(await jt.deploy('hello', 'export default 1', meta)).toEqual({ version: 1, created: true });
    expect(await jt.deploy('hello', 'export default 2', meta)).toEqual({ version: 2, created: true });
    expect(await jt.active()).toEqual(new Map([['hello', 2]]));
    const versions = await jt.versions('hello');
    expect(versions.map((v) => [v.version, v.digest])).toEqual([[1, codeDigest('export default 1')], [2, codeDigest('export default 2')]]);
    expect(versions[0]).toMatchObject({ bytes: 16, deployedBy: 'tok-test', resultType: 'json' });
    expect(versions[0]!.deployedAt).toBeGreaterThan(0);
    expect(await jt.code('hello', codeDigest('export default 1'))).toBe('export default 1');
    expect(await jt.revision()).toBe(2);
    // Acknowledged by the replica: it holds the code once deploy has returned.
    expect(await replica.get(store.keys.jobTypeCode('hello', codeDigest('export default 2')))).toBe('export default 2');
  });

  it('deploying the active code again makes no version; an older code again makes a new one', async () => {
    const jt = newStore().jobTypes;
    await jt.deploy('a', 'one', meta);
    await jt.deploy('a', 'two', meta);
    expect(await jt.deploy('a', 'two', meta)).toEqual({ version: 2, created: false });
    expect(await jt.revision()).toBe(2);
    expect(await jt.deploy('a', 'one', meta)).toEqual({ version: 3, created: true });
  });

  it('activates an older version (rollback) and refuses a version that does not exist', async () => {
    const jt = newStore().jobTypes;
    await jt.deploy('b', 'one', meta);
    await jt.deploy('b', 'two', meta);
    expect(await jt.activate('b', 1)).toBe(2);
    expect((await jt.active()).get('b')).toBe(1);
    await expect(jt.activate('b', 7)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await jt.active()).get('b')).toBe(1);
  });

  it('deletes only a version that is not active and that no job in flight runs; the code goes with its last version', async () => {
    const store = newStore();
    const jt = store.jobTypes;
    await jt.deploy('c', 'one', meta);
    await jt.deploy('c', 'two', meta);
    await expect(jt.deleteVersion('c', 2)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('active') });
    const id = newJobId();
    await store.createJob({ id, name: 'c', input: {}, options: JOB_OPTION_DEFAULTS, resultType: 'json' });
    await redis.hset(store.keys.job(id), 'version', '1');
    await expect(jt.deleteVersion('c', 1)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(id) });
    await store.cancelJob(id);
    await jt.deleteVersion('c', 1);
    expect((await jt.versions('c')).map((v) => v.version)).toEqual([2]);
    expect(await jt.code('c', codeDigest('one'))).toBeUndefined();
    await expect(jt.deleteVersion('c', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

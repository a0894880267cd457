// The one classifier of "Redis could not take this now" errors, as the scheduler, the workers and the API use it.
import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { describe, expect, it } from 'vitest';
import { RingpoolError, isTransientRedisError } from '../../src/errors.js';
import { toHttpError } from '../../src/api/errors.js';

/** A Node socket error as ioredis passes it on (code and message). */
function socketError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, syscall: 'connect' });
}

const TRANSIENT: Array<[string, unknown]> = [
  ['our NOT_REPLICATED', new RingpoolError('NOT_REPLICATED', 'write confirmed by 0 replica(s), 1 required within 2000 ms')],
  ['our REDIS_UNAVAILABLE', new RingpoolError('REDIS_UNAVAILABLE', 'Redis is unreachable')],
  ['a code rebuilt after a thread hop', { code: 'NOT_REPLICATED', message: 'short' }],
  ['a refused connection', socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6379')],
  ['a reset connection', socketError('ECONNRESET', 'read ECONNRESET')],
  ['a broken pipe', socketError('EPIPE', 'write EPIPE')],
  ['an unreachable host', socketError('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.9:6379')],
  ['an unknown host', socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND redis-1')],
  ['a connect timeout', socketError('ETIMEDOUT', 'connect ETIMEDOUT')],
  ['a closed connection', new Error('Connection is closed.')],
  ['an unwritable stream', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
  ['a command timeout', new Error('Command timed out')],
  ['ioredis giving up on a command', new MaxRetriesPerRequestError(20)],
  ['a replica being promoted', new ReplyError("READONLY You can't write against a read only replica.")],
  ['a master loading its data', new ReplyError('LOADING Redis is loading the dataset in memory')],
  ['a replica whose master is down', new ReplyError('MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.')],
  ['too few replicas', new ReplyError('NOREPLICAS Not enough good replicas to write.')],
  ['a cluster that is down', new ReplyError('CLUSTERDOWN The cluster is down')],
  ['a failed snapshot', new ReplyError('MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.')],
  ['a full memory', new ReplyError("OOM command not allowed when used memory > 'maxmemory'.")],
  ['a long script', new ReplyError('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.')],
  ['a plain string', 'Connection is closed.'],
];

const NOT_TRANSIENT: Array<[string, unknown]> = [
  ['a stale term', new RingpoolError('STALE_TERM', 'term 3 is below the highest seen 4')],
  ['a job failure', new RingpoolError('TASK_FAILED', 'boom')],
  ['a wrong type', new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
  ['a script error', new ReplyError('ERR Error running script (call to f_1234): @user_script:1: oops')],
  ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ['nothing', undefined],
  ['null', null],
];

describe('isTransientRedisError', () => {
  it.each(TRANSIENT)('%s is transient', (_what, err) => {
    expect(isTransientRedisError(err)).toBe(true);
  });

  it.each(NOT_TRANSIENT)('%s is not', (_what, err) => {
    expect(isTransientRedisError(err)).toBe(false);
  });

  it('the API answers a transient error with 503 REDIS_UNAVAILABLE and Retry-After, anything else with 500', () => {
    const down = toHttpError(new MaxRetriesPerRequestError(20));
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('REDIS_UNAVAILABLE');
    expect(down.headers['retry-after']).toBe('2');
    expect(toHttpError(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')).body.error.code).toBe('INTERNAL');
  });
});

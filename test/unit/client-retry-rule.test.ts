// The client's rule for asking again after a 429/503 (src/client/http.ts): reads always, writes only where the API says nothing changed.
import { describe, expect, it } from 'vitest';
import { mayAskAgain } from '../../src/client/http.js';

describe('which error answers the client asks again', () => {
  it('a GET, on any 429 or 503', () => {
    for (const [status, code] of [[503, 'REDIS_UNAVAILABLE'], [503, 'NOT_REPLICATED'], [503, 'NOT_LEADER'], [429, 'RATE_LIMITED'], [503, 'INTERNAL']] as const) {
      expect(mayAskAgain('GET', status, code), `${status} ${code}`).toBe(true);
    }
  });

  it('a write, only on 429 RATE_LIMITED and a 503 REDIS_UNAVAILABLE that says it changed nothing', () => {
    for (const method of ['POST', 'DELETE'] as const) {
      expect(mayAskAgain(method, 429, 'RATE_LIMITED')).toBe(true);
      expect(mayAskAgain(method, 503, 'REDIS_UNAVAILABLE', true)).toBe(true);
      // Redis lost while the request ran: the write may have been applied.
      expect(mayAskAgain(method, 503, 'REDIS_UNAVAILABLE', false)).toBe(false);
      // Stored on the master, short of replicas: a second submission would be a second job.
      expect(mayAskAgain(method, 503, 'NOT_REPLICATED')).toBe(false);
      expect(mayAskAgain(method, 503, 'NOT_LEADER')).toBe(false);
      // A proxy's 503 without ringpool's body (coded INTERNAL by the client): the write may have happened.
      expect(mayAskAgain(method, 503, 'INTERNAL')).toBe(false);
    }
  });

  it('never on another status', () => {
    for (const [status, code] of [[400, 'BAD_INPUT'], [401, 'UNAUTHORIZED'], [404, 'NOT_FOUND'], [409, 'NOT_FINISHED'], [500, 'INTERNAL']] as const) {
      expect(mayAskAgain('GET', status, code)).toBe(false);
      expect(mayAskAgain('POST', status, code)).toBe(false);
    }
  });
});

// Worker registrations signed with the cluster secret: forged, tampered and replayed ones are refused.
import { describe, expect, it } from 'vitest';
import { signRegistration, verifyRegistration } from '../../src/transport/registration-signature.js';

const SECRET = 'a-cluster-secret-of-enough-length';
const now = 1_800_000_000_000;
const fields = { id: 'w1', threads: 4, heartbeatAt: now, draining: false };

describe('registration signatures', () => {
  it('accepts a registration signed with the secret and stamped now', () => {
    expect(verifyRegistration(signRegistration(fields, SECRET), SECRET, now)).toEqual(fields);
  });

  it('refuses an unsigned, wrongly signed or tampered registration', () => {
    expect(verifyRegistration(JSON.stringify(fields), SECRET, now)).toBeUndefined();
    expect(verifyRegistration(signRegistration(fields, 'another-secret-of-enough-length'), SECRET, now)).toBeUndefined();
    const tampered = { ...JSON.parse(signRegistration(fields, SECRET)), threads: 64 };
    expect(verifyRegistration(JSON.stringify(tampered), SECRET, now)).toBeUndefined();
    expect(verifyRegistration('{not json', SECRET, now)).toBeUndefined();
  });

  it('refuses a registration replayed outside the window', () => {
    const old = signRegistration({ ...fields, heartbeatAt: now - 60_000 }, SECRET);
    expect(verifyRegistration(old, SECRET, now)).toBeUndefined();
    expect(verifyRegistration(old, SECRET, now - 59_000)).toBeDefined();
  });

  it('without a secret, reads plain registrations', () => {
    expect(verifyRegistration(signRegistration(fields, undefined), undefined, now)).toEqual(fields);
  });
});

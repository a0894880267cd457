// Worker registrations signed with the cluster secret (HMAC-SHA256), so only cluster members join the ring.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A registration as stored in Redis: its fields, and `sig` over them when a cluster secret is set. */
export function signRegistration(fields: object, secret: string | undefined): string {
  const body = JSON.stringify(fields);
  if (secret === undefined) return body;
  return JSON.stringify({ ...fields, sig: hmac(secret, body) });
}

/**
 * The registration's fields when it is authentic: signed with `secret` and stamped within
 * `windowMs` of `now` (an old registration replayed later is refused). Undefined otherwise.
 */
export function verifyRegistration<T extends { heartbeatAt: number }>(raw: string, secret: string | undefined, now: number, windowMs = 30_000): T | undefined {
  let parsed: T & { sig?: unknown };
  try {
    parsed = JSON.parse(raw) as T & { sig?: unknown };
  } catch {
    return undefined;
  }
  if (secret === undefined) return parsed;
  const { sig, ...fields } = parsed;
  if (typeof sig !== 'string' || typeof fields.heartbeatAt !== 'number') return undefined;
  const expected = Buffer.from(hmac(secret, JSON.stringify(fields)), 'hex');
  const given = Buffer.from(sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  // A draining node's last registration is stamped 0 on purpose (it lapses at once): allowed.
  if (fields.heartbeatAt !== 0 && Math.abs(now - fields.heartbeatAt) > windowMs) return undefined;
  return fields as unknown as T;
}

function hmac(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

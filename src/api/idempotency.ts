// Idempotent submits (docs/tenants.md): the `Idempotency-Key` header checked, and the digest of a submission's canonical body.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RingpoolError } from '../errors.js';

/** How long a key names the job it created, s (24 h). */
export const IDEMPOTENCY_TTL_SEC = 86_400;

/** 1-255 visible ASCII characters (0x21-0x7E): what a client generates once per logical submission. */
export const IdempotencyKeyHeader = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/)
  .optional()
  .describe('makes the submission idempotent for 24 h: the same key and body answer 200 with the job the key created; the same key with another body is 422. 1-255 visible ASCII characters, per tenant');

/** The header's value, or undefined without one; BAD_INPUT naming the header when it is not 1-255 visible ASCII characters. */
export function idempotencyKeyOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (IdempotencyKeyHeader.safeParse(raw).success) return raw;
  const why = raw.length === 0 ? 'is empty' : raw.length > 255 ? `has ${raw.length} characters` : 'has a character that is not visible ASCII (space, control or non-ASCII)';
  throw new RingpoolError('BAD_INPUT', `header Idempotency-Key: ${why}; send 1-255 visible ASCII characters, e.g. a UUID generated once per submission`);
}

/**
 * SHA-256 (hex) of the submission as canonical JSON: `job`, `input` and `options` with every
 * object's keys sorted, so the same body written in another key order is the same submission.
 */
export function submissionDigest(body: unknown): string {
  const { job, input, options } = (body ?? {}) as { job?: unknown; input?: unknown; options?: unknown };
  return createHash('sha256').update(canonicalJson({ job, input: input ?? null, options: options ?? {} }), 'utf8').digest('hex');
}

/** JSON with object keys in code-point order and `undefined` members left out, as JSON.stringify leaves them. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

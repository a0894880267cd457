// Raft messages on the wire: JSON with a strict validating decoder that says exactly what is wrong.
import { z } from 'zod';
import type { NodeId, RaftMessage } from './types.js';

/** A POSTed batch: messages from one node to another. */
export interface RaftBatch {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly messages: readonly RaftMessage[];
}

/** Thrown for input that is not a valid batch; `issues` lists each problem with its path. */
export class RaftCodecError extends Error {
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = []) {
    super(issues.length === 0 ? message : `${message}: ${issues.join('; ')}`);
    this.name = 'RaftCodecError';
    this.issues = issues;
  }
}

export const MAX_MESSAGES_PER_BATCH = 10_000;
export const MAX_ENTRIES_PER_MESSAGE = 100_000;

const nodeId = z.string().min(1).max(256);
const counter = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Any JSON value; `undefined` (a missing key) is not one. */
const jsonValue = z.unknown().refine((v) => v !== undefined, { message: 'is required' });

const member = z.strictObject({ id: nodeId, address: z.string().max(2048).optional() });
const confState = z.strictObject({ voters: z.array(member).max(1000) });

const entry = z.discriminatedUnion('kind', [
  z.strictObject({ index: counter, term: counter, kind: z.literal('command'), command: jsonValue }),
  z.strictObject({ index: counter, term: counter, kind: z.literal('noop') }),
  z.strictObject({ index: counter, term: counter, kind: z.literal('config'), conf: confState }),
]);

const snapshot = z.strictObject({ index: counter, term: counter, conf: confState, data: jsonValue });

const base = { from: nodeId, to: nodeId, term: counter };

const message = z.discriminatedUnion('type', [
  z.strictObject({
    ...base,
    type: z.literal('append'),
    prevIndex: counter,
    prevTerm: counter,
    entries: z.array(entry).max(MAX_ENTRIES_PER_MESSAGE),
    commit: counter,
  }),
  z.strictObject({ ...base, type: z.literal('appendResponse'), index: counter, reject: z.boolean(), rejectHint: counter, rejectHintTerm: counter }),
  z.strictObject({ ...base, type: z.enum(['vote', 'preVote']), lastIndex: counter, lastTerm: counter, transfer: z.boolean() }),
  z.strictObject({ ...base, type: z.enum(['voteResponse', 'preVoteResponse']), reject: z.boolean() }),
  z.strictObject({ ...base, type: z.literal('heartbeat'), commit: counter, context: z.string().max(1024) }),
  z.strictObject({ ...base, type: z.literal('heartbeatResponse'), context: z.string().max(1024) }),
  z.strictObject({ ...base, type: z.literal('snapshot'), snapshot }),
  z.strictObject({ ...base, type: z.literal('timeoutNow') }),
]);

const batch = z.strictObject({ from: nodeId, to: nodeId, messages: z.array(message).max(MAX_MESSAGES_PER_BATCH) });

export function encodeRaftBatch(value: RaftBatch): string {
  return JSON.stringify(value);
}

/** Parses and validates a batch; every message must be from `from` to `to`, and entries contiguous. */
export function decodeRaftBatch(input: string | unknown): RaftBatch {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new RaftCodecError(`malformed JSON: ${(err as Error).message}`);
    }
  }
  const parsed = batch.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map((i) => `${i.path.length === 0 ? '(root)' : i.path.join('.')}: ${i.message}`);
    throw new RaftCodecError('invalid Raft batch', issues);
  }
  const b = parsed.data as RaftBatch;
  b.messages.forEach((m, i) => {
    if (m.from !== b.from || m.to !== b.to) throw new RaftCodecError('invalid Raft batch', [`messages.${i}: is from ${m.from} to ${m.to}, but the batch is from ${b.from} to ${b.to}`]);
    if (m.type === 'append') {
      m.entries.forEach((e, k) => {
        if (e.index !== m.prevIndex + 1 + k) throw new RaftCodecError('invalid Raft batch', [`messages.${i}.entries.${k}.index: expected ${m.prevIndex + 1 + k}, got ${e.index}`]);
      });
    }
  });
  return b;
}

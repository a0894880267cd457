// The Raft wire codec: round trips every message type, rejects malformed input with a message saying where.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRaftBatch, encodeRaftBatch, RaftCodecError, type RaftBatch } from '../../src/raft/message-codec.js';
import type { RaftMessage } from '../../src/raft/types.js';

const from = 'n1';
const to = 'n2';
const base = { from, to, term: 3 };
const conf = { voters: [{ id: 'n1', address: 'http://a:1' }, { id: 'n2' }] };

const EVERY_TYPE: RaftMessage[] = [
  {
    ...base,
    type: 'append',
    prevIndex: 4,
    prevTerm: 2,
    commit: 4,
    entries: [
      { index: 5, term: 3, kind: 'noop' },
      { index: 6, term: 3, kind: 'command', command: { op: 'drain', node: 'w1', flags: [1, null, 'x'] } },
      { index: 7, term: 3, kind: 'config', conf },
    ],
  },
  { ...base, type: 'appendResponse', index: 7, reject: false, rejectHint: 0, rejectHintTerm: 0 },
  { ...base, type: 'vote', lastIndex: 7, lastTerm: 3, transfer: false },
  { ...base, type: 'preVote', lastIndex: 7, lastTerm: 3, transfer: true },
  { ...base, type: 'voteResponse', reject: true },
  { ...base, type: 'preVoteResponse', reject: false },
  { ...base, type: 'heartbeat', commit: 7, context: 'n1/3' },
  { ...base, type: 'heartbeatResponse', context: '' },
  { ...base, type: 'snapshot', snapshot: { index: 7, term: 3, conf, data: { ring: [1, 2, 3] } } },
  { ...base, type: 'timeoutNow' },
];

function reject(input: unknown): string {
  try {
    decodeRaftBatch(typeof input === 'string' ? input : JSON.stringify(input));
  } catch (err) {
    expect(err).toBeInstanceOf(RaftCodecError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

describe('Raft message codec', () => {
  it('round-trips every message type', () => {
    const batch: RaftBatch = { from, to, messages: EVERY_TYPE };
    expect(decodeRaftBatch(encodeRaftBatch(batch))).toEqual(batch);
  });

  it('says what is wrong and where', () => {
    expect(reject('{"from":')).toMatch(/^malformed JSON/);
    expect(reject([])).toMatch(/\(root\)/);
    expect(reject({ from, to, messages: [{ ...base, type: 'gossip' }] })).toMatch(/messages\.0\.type/);
    expect(reject({ from, to, messages: [{ ...base, type: 'timeoutNow', term: 1.5 }] })).toMatch(/messages\.0\.term/);
    expect(reject({ from, to, messages: [{ ...base, type: 'timeoutNow', extra: 1 }] })).toMatch(/extra/);
    expect(reject({ from, to, messages: [{ ...base, type: 'heartbeatResponse' }] })).toMatch(/messages\.0\.context/);
    expect(reject({ from, to, messages: [{ ...EVERY_TYPE[0], entries: [{ index: 5, term: 3, kind: 'command' }] }] })).toMatch(/messages\.0\.entries\.0\.command/);
    expect(reject({ from, to, messages: [{ ...EVERY_TYPE[0], entries: [{ index: 9, term: 3, kind: 'noop' }] }] })).toMatch(/entries\.0\.index: expected 5, got 9/);
    expect(reject({ from, to, messages: [{ ...base, from: 'n3', type: 'timeoutNow' }] })).toMatch(/is from n3 to n2, but the batch is from n1 to n2/);
    expect(reject({ from: '', to, messages: [] })).toMatch(/from/);
  });

  it('never throws anything but a RaftCodecError, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ from, to, messages: [v] }))), (text) => {
        try {
          decodeRaftBatch(text);
        } catch (err) {
          if (!(err instanceof RaftCodecError)) throw err;
        }
      }),
      { numRuns: 4000 },
    );
    console.log('[raft-fuzz] 4000 random inputs to decodeRaftBatch: 0 crashes, every rejection a RaftCodecError');
  });

  it('rejects every single-field corruption of a valid message, or decodes it to a valid one', () => {
    const valid = EVERY_TYPE;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.string(), fc.jsonValue(), (i, key, value) => {
        const m = { ...(valid[i] as object), [key]: value } as Record<string, unknown>;
        try {
          const out = decodeRaftBatch(JSON.stringify({ from, to, messages: [m] }));
          expect(out.messages).toHaveLength(1);
        } catch (err) {
          expect(err).toBeInstanceOf(RaftCodecError);
        }
      }),
      { numRuns: 2000 },
    );
    console.log('[raft-fuzz] 2000 single-field corruptions of valid messages: each rejected cleanly or decoded valid');
  });
});

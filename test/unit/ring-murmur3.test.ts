// Pins the ring's hash: murmur3_x86_32 over UTF-16LE, checked against published vectors via a byte-wise reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur3 } from '../../src/ring/index.js';

/** Textbook murmur3_x86_32 over bytes, written from the algorithm's description: the oracle. */
function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed | 0;
  const blocks = bytes.length >> 2;
  const mix = (k: number): number => Math.imul(rotl(Math.imul(k, c1), 15), c2);
  for (let b = 0; b < blocks; b++) {
    const i = b * 4;
    const k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h = (Math.imul(rotl(h ^ mix(k), 13), 5) + 0xe6546b64) | 0;
  }
  const t = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    // The tail's 1–3 bytes, little-endian, mixed like a block but not folded into h's rotation.
    let tail = 0;
    for (let j = rest - 1; j >= 0; j--) tail = (tail << 8) | bytes[t + j]!;
    h ^= mix(tail);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

const utf16le = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf16le'));
const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

describe('murmur3', () => {
  it('the reference implementation reproduces the published murmur3_x86_32 test vectors', () => {
    expect(referenceMurmur3(new Uint8Array(0), 0)).toBe(0);
    expect(referenceMurmur3(new Uint8Array(0), 1)).toBe(0x514e28b7);
    expect(referenceMurmur3(new Uint8Array(0), 0xffffffff)).toBe(0x81f16f39);
    expect(referenceMurmur3(new Uint8Array(4), 0)).toBe(0x2362f9de);
    expect(referenceMurmur3(ascii('aaaa'), 0x9747b28c)).toBe(0x5a97808a);
    expect(referenceMurmur3(ascii('Hello, world!'), 0x9747b28c)).toBe(0x24884cba);
    expect(referenceMurmur3(ascii('The quick brown fox jumps over the lazy dog'), 0x9747b28c)).toBe(0x2fa826cd);
  });

  it('hashing a string equals murmur3_x86_32 of its UTF-16LE bytes, for any code units and seed', () => {
    const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units));
    fc.assert(
      fc.property(fc.oneof(codeUnits, fc.string({ unit: 'binary', maxLength: 40 })), fc.integer({ min: 0, max: 0xffffffff }), (text, seed) => {
        expect(murmur3(text, seed)).toBe(referenceMurmur3(utf16le(text), seed));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps hashing keys to the same values from release to release', () => {
    // Changing any of these moves tasks between nodes during a rolling upgrade.
    expect(murmur3('')).toBe(0);
    expect(murmur3('a')).toBe(0x6f49d11a);
    expect(murmur3('job-1:0')).toBe(0x7be61a43);
    expect(murmur3('ringpool')).toBe(0x6f20a10f);
    expect(murmur3('héllo wörld ✓')).toBe(0x218c0cae);
  });
});

// MurmurHash3 (x86, 32-bit) of a string's UTF-16LE bytes: the ring's one hash for keys and points.

// Why murmur3_x86_32: it is non-cryptographic, well studied (passes SMHasher), needs only 32-bit
// integer ops that V8 compiles to machine instructions via Math.imul, and its output is fully
// specified, so a ring built in another process or language lands every key identically.
//
// Why UTF-16LE rather than UTF-8: a JS string already *is* UTF-16 code units, so reading two units
// per 32-bit block with charCodeAt hashes any key without an encoder, a buffer or an allocation.
// The result equals murmur3_x86_32 over `Buffer.from(s, 'utf16le')` (a test pins that), which keeps
// the definition portable. Changing anything here moves keys between nodes on a rolling upgrade:
// bump RING_FORMAT in hash-ring.ts if you ever must.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** murmur3_x86_32 of `text` encoded as UTF-16LE, as an unsigned 32-bit integer. */
export function murmur3(text: string, seed = 0): number {
  let h = seed | 0;
  const length = text.length;
  const pairEnd = length & ~1;
  let i = 0;
  for (; i < pairEnd; i += 2) {
    // Two code units make one little-endian 32-bit block: low unit first.
    let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < length) {
    // An odd unit is the 2-byte tail of the byte stream.
    let k = text.charCodeAt(i);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length * 2; // murmur3 mixes in the length in bytes
  return fmix32(h);
}

/** murmur3's finaliser: a bijection on 32 bits with full avalanche. */
export function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

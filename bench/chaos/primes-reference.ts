// The serial reference the chaos client checks each primes job against: a plain sieve, written apart from jobs/primes.ts.

/** The number of primes p with from ≤ p < to, by sieving the range with the primes up to √to. */
export function countPrimesSerially(from: number, to: number): number {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from) throw new RangeError(`need integers 0 ≤ from ≤ to, got ${from} and ${to}`);
  if (to <= 2) return 0;
  const lo = Math.max(2, from);
  if (lo >= to) return 0;
  const root = Math.floor(Math.sqrt(to - 1));
  const small = new Uint8Array(root + 1); // 1: composite
  const base: number[] = [];
  for (let i = 2; i <= root; i++) {
    if (small[i] === 1) continue;
    base.push(i);
    for (let j = i * i; j <= root; j += i) small[j] = 1;
  }
  const composite = new Uint8Array(to - lo); // index k stands for lo + k
  for (const p of base) {
    let start = Math.max(p * p, Math.ceil(lo / p) * p);
    for (let m = start; m < to; m += p) composite[m - lo] = 1;
  }
  let count = 0;
  for (let k = 0; k < composite.length; k++) if (composite[k] === 0) count++;
  return count;
}

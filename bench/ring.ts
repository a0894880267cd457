// `npm run bench -- ring`: our HashRing against npm hashring on the same 1M seeded keys: speed, balance, moves.
import HashRingBaseline from 'hashring';
import { HashRing, type RingNode } from '../src/ring/index.js';
import { printTable, type BenchSuite } from './report.js';

const SEED = 0x5eed_0001;
const ZIPF_EXPONENT = 1.1;
const HOT_KEYS = 1000;

/** splitmix32: tiny, seedable, good enough to draw keys; the bench must be reproducible. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return ((z ^ (z >>> 15)) >>> 0) / 2 ** 32;
  };
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`expected --${name} to be a positive integer, got ${args[i + 1]}`);
  return value;
}

/** Task-like keys (`<job id>:<task index>`) drawn from the seeded PRNG. */
function randomKeys(count: number, random: () => number): string[] {
  const keys = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const job = Math.floor(random() * 2 ** 32).toString(16).padStart(8, '0');
    keys[i] = `job-${job}:${Math.floor(random() * 100_000)}`;
  }
  return keys;
}

/** `count` draws of ranks 1..n with P(k) ∝ k^-s, by inverse CDF. */
function zipfDraws(count: number, n: number, s: number, random: () => number): Uint32Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) cdf[k - 1] = sum += k ** -s;
  const draws = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    draws[i] = lo;
  }
  return draws;
}

/** Keys per second of `lookup` over all keys; median of three timed passes after a warm-up. */
function lookupsPerSecond(keys: readonly string[], lookup: (key: string) => string | undefined): number {
  let sink = 0;
  const rates: number[] = [];
  for (let round = 0; round < 4; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < keys.length; i++) sink += lookup(keys[i] as string)?.length ?? 0;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (round > 0) rates.push(keys.length / seconds);
  }
  if (sink === 0) throw new Error('lookups returned nothing');
  rates.sort((a, b) => a - b);
  return rates[1] as number;
}

/** Max over nodes of (load / the load its weight entitles it to): 1 is perfect balance. */
function maxOverMean(counts: ReadonlyMap<string, number>, nodes: readonly RingNode[]): number {
  const totalWeight = nodes.reduce((s, n) => s + n.weight, 0);
  let total = 0;
  for (const c of counts.values()) total += c;
  let max = 0;
  for (const n of nodes) max = Math.max(max, (counts.get(n.id) ?? 0) / ((total * n.weight) / totalWeight));
  return max;
}

function tally(owners: readonly (string | undefined)[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const o of owners) if (o !== undefined) counts.set(o, (counts.get(o) ?? 0) + 1);
  return counts;
}

/** Assigns keys in order with ownerOfBounded, in-flight counts = tasks assigned so far. */
function assignBounded(ring: HashRing, keyAt: (i: number) => string, count: number): Map<string, number> {
  const loads = new Map<string, number>(ring.nodes().map((n) => [n.id, 0]));
  for (let i = 0; i < count; i++) {
    const owner = ring.ownerOfBounded(keyAt(i), loads) as string;
    loads.set(owner, (loads.get(owner) as number) + 1);
  }
  return loads;
}

function ratio(x: number): string {
  return x.toFixed(3);
}

function percent(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

const ring: BenchSuite = async (args) => {
  const keyCount = option(args, 'keys', 1_000_000);
  const nodeCount = option(args, 'nodes', 10);
  const weight = option(args, 'weight', 4);
  const random = prng(SEED);
  const keys = randomKeys(keyCount, random);
  const nodes: RingNode[] = Array.from({ length: nodeCount }, (_, i) => ({ id: `worker-${i}`, weight }));
  const weights = (list: readonly RingNode[]) => Object.fromEntries(list.map((n) => [n.id, n.weight]));

  const ours = HashRing.build(nodes);
  const theirs = new HashRingBaseline(weights(nodes));

  // Speed: interleaved so both see the same machine state.
  const lookupsPerSec = lookupsPerSecond(keys, (k) => ours.ownerOf(k));
  const hashringLookupsPerSec = lookupsPerSecond(keys, (k) => theirs.get(k));
  const boundedLoads = new Map(nodes.map((n) => [n.id, 1000]));
  const boundedLookupsPerSec = lookupsPerSecond(keys, (k) => ours.ownerOfBounded(k, boundedLoads));

  // Balance on uniform keys.
  const owners = keys.map((k) => ours.ownerOf(k));
  const maxOverMeanPlain = maxOverMean(tally(owners), nodes);
  const hashringMaxOverMean = maxOverMean(tally(keys.map((k) => theirs.get(k))), nodes);
  const maxOverMeanBounded = maxOverMean(assignBounded(ours, (i) => keys[i] as string, keyCount), nodes);

  // Balance on a skewed key set: Zipf(1.1) over 1,000 hot keys, loads accumulating.
  const hot = Array.from({ length: HOT_KEYS }, (_, k) => `hot-task-${k}`);
  const draws = zipfDraws(keyCount, HOT_KEYS, ZIPF_EXPONENT, random);
  const zipfKey = (i: number) => hot[draws[i] as number] as string;
  const maxOverMeanZipf = maxOverMean(tally(Array.from(draws, (d) => ours.ownerOf(hot[d] as string))), nodes);
  const maxOverMeanBoundedZipf = maxOverMean(assignBounded(ours, zipfKey, keyCount), nodes);

  // Minimal disruption: remove one node, then add an eleventh.
  const removed = nodes[Math.floor(nodeCount / 2)] as RingNode;
  const added: RingNode = { id: `worker-${nodeCount}`, weight };
  const withoutOne = ours.withoutNode(removed.id);
  const withOneMore = ours.withNode(added.id, added.weight);
  const totalWeight = ours.totalWeight;
  let movedRemove = 0;
  let movedAdd = 0;
  let spuriousMoves = 0;
  for (let i = 0; i < keyCount; i++) {
    const key = keys[i] as string;
    const before = owners[i];
    const afterRemove = withoutOne.ownerOf(key);
    if (afterRemove !== before) {
      movedRemove++;
      if (before !== removed.id) spuriousMoves++;
    }
    const afterAdd = withOneMore.ownerOf(key);
    if (afterAdd !== before) {
      movedAdd++;
      if (afterAdd !== added.id) spuriousMoves++;
    }
  }
  const theirsWithoutOne = new HashRingBaseline(weights(nodes.filter((n) => n !== removed)));
  const theirsWithOneMore = new HashRingBaseline(weights([...nodes, added]));
  let theirMovedRemove = 0;
  let theirMovedAdd = 0;
  let theirSpuriousMoves = 0;
  for (const key of keys) {
    const before = theirs.get(key);
    const afterRemove = theirsWithoutOne.get(key);
    if (afterRemove !== before) {
      theirMovedRemove++;
      if (before !== removed.id) theirSpuriousMoves++;
    }
    const afterAdd = theirsWithOneMore.get(key);
    if (afterAdd !== before) {
      theirMovedAdd++;
      if (afterAdd !== added.id) theirSpuriousMoves++;
    }
  }

  // Agreement: a second ring built independently, from the members in reverse order and by
  // growing an empty ring one node at a time.
  const rebuilt = [...nodes].reverse().reduce((r, n) => r.withNode(n.id, n.weight), HashRing.build([]));
  let agreeing = 0;
  for (let i = 0; i < keyCount; i++) if (rebuilt.ownerOf(keys[i] as string) === owners[i]) agreeing++;

  const figures = {
    lookupsPerSec: Math.round(lookupsPerSec),
    hashringLookupsPerSec: Math.round(hashringLookupsPerSec),
    maxOverMean: maxOverMeanPlain,
    maxOverMeanBoundedZipf,
    movedOnRemove: movedRemove / keyCount,
    idealOnRemove: removed.weight / totalWeight,
    movedOnAdd: movedAdd / keyCount,
    idealOnAdd: added.weight / (totalWeight + added.weight),
    spuriousMoves,
    agreement: agreeing / keyCount,
  };

  printTable(`ring: ${keyCount.toLocaleString('en-US')} seeded keys, ${nodeCount} nodes of weight ${weight}, loadFactor ${ours.options.loadFactor}`, [
    ['', 'ringpool HashRing', 'npm hashring', 'ideal / note'],
    ['lookups/s (ownerOf / get)', figures.lookupsPerSec, figures.hashringLookupsPerSec, `${(lookupsPerSec / hashringLookupsPerSec).toFixed(1)}× faster`],
    ['lookups/s ownerOfBounded', Math.round(boundedLookupsPerSec), '-', 'no node at cap'],
    ['max/mean, uniform keys', ratio(figures.maxOverMean), ratio(hashringMaxOverMean), '1.000'],
    ['max/mean, uniform, bounded', ratio(maxOverMeanBounded), '-', `≤ ${ours.options.loadFactor}`],
    ['max/mean, Zipf(1.1) hot keys', ratio(maxOverMeanZipf), '-', 'unbounded'],
    ['max/mean, Zipf(1.1), bounded', ratio(figures.maxOverMeanBoundedZipf), '-', `≤ ${ours.options.loadFactor}`],
    ['moved on removing a node', percent(figures.movedOnRemove), percent(theirMovedRemove / keyCount), percent(figures.idealOnRemove)],
    ['moved on adding an 11th', percent(figures.movedOnAdd), percent(theirMovedAdd / keyCount), percent(figures.idealOnAdd)],
    ['spurious moves (remove + add)', figures.spuriousMoves, theirSpuriousMoves, '0'],
    ['agreement, independent build', percent(figures.agreement), '-', '100.00%'],
    ['points on the ring', ours.totalWeight * ours.options.pointsPerWeight, nodeCount * 160, 'ketama: 160 per node'],
  ]);
  return figures;
};

export default ring;

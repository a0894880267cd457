// The consistent hash ring: an immutable value mapping task keys to worker nodes, with bounded loads.
import { murmur3 } from './murmur3.js';
import {
  MAX_NODES,
  MAX_TOTAL_POINTS,
  describe,
  resolveRingOptions,
  type ResolvedRingOptions,
  type RingOptions,
} from './ring-options.js';

/** A ring member: its id and its weight (the node's worker-thread count). */
export interface RingNode {
  readonly id: string;
  readonly weight: number;
}

/** One node's fraction of the hash space, next to its weight, for the dashboard. */
export interface NodeShare {
  readonly id: string;
  readonly weight: number;
  /** Fraction of the 32-bit hash space whose keys this node owns (all shares sum to 1). */
  readonly share: number;
}

/**
 * In-flight task counts by node id. Ids missing from the map count as 0; ids that are not on the
 * ring are ignored, so a departed node still draining its tasks does not raise everyone's cap.
 * A Map rather than a record because the scheduler updates it per task and `get` on a Map of
 * string keys stays fast where a mutated record can fall back to dictionary mode.
 */
export type Loads = ReadonlyMap<string, number>;

/**
 * Bumped if the hash, the point seeds or the tie-break ever change: rings of different formats
 * place keys differently, so the fingerprint must tell them apart.
 */
const RING_FORMAT = 'r1';
const KEY_SEED = 0;
/** Point j of a node sits at murmur3(id, POINT_SEED ^ j); never equal to KEY_SEED for j < 2^24. */
const POINT_SEED = 0x9e3779b9;
/** Position × 2^16 + ordinal stays below 2^48, exact in a double: one native Float64Array sort. */
const ORDINAL_SPAN = 2 ** 16;
const HASH_SPACE = 2 ** 32;
/** The bucket index has at most 2^16 entries (256 KiB), about one point per bucket at most. */
const MAX_INDEX_BITS = 16;

/**
 * The in-flight cap of the bounded-loads rule, `ceil(c × (total + 1) × weight / totalWeight)`:
 * a node at or above it takes no more tasks. Exported so callers and tests apply the very same
 * arithmetic (floating-point rounding included) as {@link HashRing.ownerOfBounded}.
 */
export function boundedLoadCap(total: number, weight: number, totalWeight: number, loadFactor: number): number {
  return Math.ceil((loadFactor * (total + 1) * weight) / totalWeight);
}

/**
 * A consistent hash ring with weighted virtual points and bounded loads.
 *
 * Built only from node ids, weights and options: the same membership gives the same ring in any
 * process, whatever order the nodes were listed in. Immutable: `withNode` and `withoutNode`
 * return new rings. A key belongs to the first point clockwise at or after its hash.
 *
 * Why a ring of virtual points and not weighted rendezvous hashing: rendezvous balances perfectly
 * but costs one hash and one logarithm per node per lookup (O(n), and floating-point `log` is not
 * guaranteed bit-identical across engines), while a ring lookup is one hash plus a short search
 * whatever the node count, and uses integer arithmetic only. Switching between the two by node
 * count would reshuffle every key at the threshold, so the ring is used at every size and gets
 * enough points per node (see `pointsPerWeight`) to balance small clusters too.
 */
export class HashRing {
  /** Number of nodes on the ring. */
  readonly size: number;
  /** Sum of all node weights. */
  readonly totalWeight: number;
  /**
   * Identifies the placement this ring makes: derived from the ring format, the options and the
   * sorted membership, so two rings with equal fingerprints place every key alike.
   */
  readonly fingerprint: string;
  readonly options: Readonly<ResolvedRingOptions>;

  /** Members sorted by id (UTF-16 code-unit order, not locale order: it must not vary by host). */
  readonly #nodes: readonly RingNode[];
  readonly #ids: readonly string[];
  readonly #weights: Float64Array;
  /** Point positions on the 32-bit circle, ascending. */
  readonly #positions: Uint32Array;
  /** Owner ordinal (index into #ids) of each point. */
  readonly #owners: Uint16Array;
  /**
   * #bucketStart[b] = first point at or after b × 2^#shift: narrows the binary search to the
   * handful of points in one bucket, which halves lookup time on large rings (measured).
   */
  readonly #bucketStart: Uint32Array;
  readonly #shift: number;
  /** Scratch for walks: node o was visited in this walk iff #visited[o] === #walk. Reused, not allocated per lookup. */
  readonly #visited: Uint32Array;
  #walk = 0;
  #shares: readonly NodeShare[] | undefined;

  private constructor(nodes: readonly RingNode[], options: Readonly<ResolvedRingOptions>) {
    this.options = options;
    this.#nodes = nodes;
    this.size = nodes.length;
    this.#ids = Object.freeze(nodes.map((n) => n.id));
    this.#weights = Float64Array.from(nodes, (n) => n.weight);
    this.totalWeight = nodes.reduce((sum, n) => sum + n.weight, 0);
    this.fingerprint = fingerprintOf(nodes, options);
    this.#visited = new Uint32Array(nodes.length);

    const pointCount = this.totalWeight * options.pointsPerWeight;
    const packed = new Float64Array(pointCount);
    let p = 0;
    for (let ordinal = 0; ordinal < nodes.length; ordinal++) {
      const node = nodes[ordinal] as RingNode;
      const points = node.weight * options.pointsPerWeight;
      // Points depend on (id, j) only, so re-weighting a node keeps its first min(old, new)
      // points and moves only the keys on the arcs gained or lost.
      for (let j = 0; j < points; j++) packed[p++] = murmur3(node.id, POINT_SEED ^ j) * ORDINAL_SPAN + ordinal;
    }
    // Sorting (position, ordinal) pairs orders equal positions by node id: a tie-break that two
    // nodes resolve the same way whoever else is on the ring, so ties cannot cause spurious moves.
    packed.sort();
    this.#positions = new Uint32Array(pointCount);
    this.#owners = new Uint16Array(pointCount);
    for (let i = 0; i < pointCount; i++) {
      const value = packed[i] as number;
      const position = Math.floor(value / ORDINAL_SPAN);
      this.#positions[i] = position;
      this.#owners[i] = value - position * ORDINAL_SPAN;
    }

    const bits = Math.min(MAX_INDEX_BITS, Math.max(1, Math.floor(Math.log2(Math.max(1, pointCount)))));
    this.#shift = 32 - bits;
    const buckets = 2 ** bits;
    const bucketWidth = 2 ** this.#shift;
    this.#bucketStart = new Uint32Array(buckets + 1);
    let i = 0;
    for (let b = 0; b <= buckets; b++) {
      const start = b * bucketWidth;
      while (i < pointCount && (this.#positions[i] as number) < start) i++;
      this.#bucketStart[b] = i;
    }
    Object.freeze(this);
  }

  /**
   * A ring of these nodes. Order does not matter; ids must be unique non-empty strings and
   * weights positive integers.
   * @throws TypeError naming what was expected and what arrived.
   */
  static build(nodes: ReadonlyArray<{ id: string; weight: number }>, options?: RingOptions): HashRing {
    const resolved = resolveRingOptions(options);
    if (!Array.isArray(nodes)) {
      throw new TypeError(`expected nodes to be an array of { id, weight }, got ${describe(nodes)}`);
    }
    if (nodes.length > MAX_NODES) throw new TypeError(`expected at most ${MAX_NODES} nodes, got ${nodes.length}`);
    const members: RingNode[] = [];
    const seen = new Set<string>();
    let totalWeight = 0;
    for (const node of nodes as readonly unknown[]) {
      const member = validateNode(node);
      if (seen.has(member.id)) throw new TypeError(`expected unique node ids, got ${JSON.stringify(member.id)} twice`);
      seen.add(member.id);
      members.push(member);
      totalWeight += member.weight;
    }
    const points = totalWeight * resolved.pointsPerWeight;
    if (points > MAX_TOTAL_POINTS) {
      throw new TypeError(
        `expected at most ${MAX_TOTAL_POINTS} points in total (total weight × pointsPerWeight), got ${totalWeight} × ${resolved.pointsPerWeight} = ${points}; lower pointsPerWeight`,
      );
    }
    members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return new HashRing(Object.freeze(members), resolved);
  }

  /** The node that owns `key`, or `undefined` on an empty ring. Allocation-free. */
  ownerOf(key: string): string | undefined {
    if (this.size === 0) return undefined;
    return this.#ids[this.#owners[this.#successor(murmur3(key, KEY_SEED))] as number];
  }

  /**
   * The owner of `key` under bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018): walking
   * clockwise from the key, the first node whose in-flight count is below
   * {@link boundedLoadCap}`(total, weight, totalWeight, loadFactor)`, where `total` is the sum of
   * `loads` over the ring's nodes. Since the caps sum to at least `c × (total + 1) > total`, some
   * node is always below its cap, so the result is `undefined` only on an empty ring.
   * Costs one `loads.get` per node (for the total) plus the walk; allocation-free.
   * @throws TypeError if a ring node's load is negative, NaN or infinite.
   */
  ownerOfBounded(key: string, loads: Loads): string | undefined {
    const size = this.size;
    if (size === 0) return undefined;
    const ids = this.#ids;
    let total = 0;
    for (let o = 0; o < size; o++) {
      const id = ids[o] as string;
      const load = loads.get(id);
      if (load === undefined) continue;
      if (!(load >= 0 && load < Infinity)) {
        throw new TypeError(`expected loads to be finite non-negative numbers, got ${JSON.stringify(id)} → ${describe(load)}`);
      }
      total += load;
    }
    const start = this.#successor(murmur3(key, KEY_SEED));
    const walk = this.#nextWalk();
    const visited = this.#visited;
    const owners = this.#owners;
    const pointCount = owners.length;
    const { loadFactor } = this.options;
    let distinct = 0;
    for (let i = start, step = 0; step < pointCount; step++, i = i + 1 === pointCount ? 0 : i + 1) {
      const o = owners[i] as number;
      if (visited[o] === walk) continue;
      visited[o] = walk;
      const id = ids[o] as string;
      if ((loads.get(id) ?? 0) < boundedLoadCap(total, this.#weights[o] as number, this.totalWeight, loadFactor)) return id;
      if (++distinct === size) break;
    }
    // Unreachable while loadFactor >= 1 (see above); kept so a rounding surprise degrades to
    // plain consistent hashing instead of dropping the task.
    return ids[owners[start] as number];
  }

  /**
   * Up to `n` distinct nodes in the order a key's tasks should try them: the owner first, then
   * the next nodes clockwise. Retrying on `candidates(key, 2)[1]` sends a failed task to another
   * node while keeping every retry of that key on the same fallback.
   * @throws TypeError if `n` is not a non-negative integer.
   */
  candidates(key: string, n: number): string[] {
    if (!Number.isInteger(n) || n < 0) throw new TypeError(`expected n to be a non-negative integer, got ${describe(n)}`);
    const want = Math.min(n, this.size);
    const result: string[] = [];
    if (want === 0) return result;
    const walk = this.#nextWalk();
    const visited = this.#visited;
    const owners = this.#owners;
    const pointCount = owners.length;
    for (let i = this.#successor(murmur3(key, KEY_SEED)); result.length < want; i = i + 1 === pointCount ? 0 : i + 1) {
      const o = owners[i] as number;
      if (visited[o] === walk) continue;
      visited[o] = walk;
      result.push(this.#ids[o] as string);
    }
    return result;
  }

  /** A ring with `id` added at `weight`, or re-weighted if present (this ring if nothing changes). */
  withNode(id: string, weight: number): HashRing {
    const node = validateNode({ id, weight });
    const existing = this.#nodes.find((n) => n.id === node.id);
    if (existing?.weight === node.weight) return this;
    return HashRing.build([...this.#nodes.filter((n) => n.id !== node.id), node], this.options);
  }

  /** A ring without `id` (this ring if `id` is not on it). */
  withoutNode(id: string): HashRing {
    if (!this.#nodes.some((n) => n.id === id)) return this;
    return HashRing.build(
      this.#nodes.filter((n) => n.id !== id),
      this.options,
    );
  }

  /** The members, sorted by id. Frozen; the same array on every call. */
  nodes(): readonly RingNode[] {
    return this.#nodes;
  }

  /** Each node's fraction of the hash space, sorted by id. Computed once, then cached. */
  shares(): readonly NodeShare[] {
    this.#shares ??= this.#computeShares();
    return this.#shares;
  }

  /** The fingerprint under the name the cluster state uses for it ("ring version"). */
  get version(): string {
    return this.fingerprint;
  }

  /** Index of the first point at or after `hash`, wrapping past the top of the circle to 0. */
  #successor(hash: number): number {
    const positions = this.#positions;
    const bucket = hash >>> this.#shift;
    let lo = this.#bucketStart[bucket] as number;
    let hi = this.#bucketStart[bucket + 1] as number;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((positions[mid] as number) < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === positions.length ? 0 : lo;
  }

  /** A fresh stamp for #visited; clears the array only once every 2^32 − 1 walks. */
  #nextWalk(): number {
    if (this.#walk === 0xffffffff) {
      this.#visited.fill(0);
      this.#walk = 0;
    }
    return ++this.#walk;
  }

  #computeShares(): readonly NodeShare[] {
    const positions = this.#positions;
    const owners = this.#owners;
    const arcs = new Float64Array(this.size);
    const last = positions.length - 1;
    for (let i = 0; i <= last; i++) {
      // A point owns the arc from the previous point (exclusive) up to itself (inclusive).
      const previous = i === 0 ? (positions[last] as number) - HASH_SPACE : (positions[i - 1] as number);
      arcs[owners[i] as number]! += (positions[i] as number) - previous;
    }
    return Object.freeze(
      this.#nodes.map((n, o) => Object.freeze({ id: n.id, weight: n.weight, share: (arcs[o] as number) / HASH_SPACE })),
    );
  }
}

function validateNode(node: unknown): RingNode {
  if (typeof node !== 'object' || node === null) {
    throw new TypeError(`expected each node to be an object { id, weight }, got ${describe(node)}`);
  }
  const { id, weight } = node as { id?: unknown; weight?: unknown };
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`expected node id to be a non-empty string, got ${describe(id)}`);
  }
  if (typeof weight !== 'number' || !Number.isSafeInteger(weight) || weight < 1) {
    throw new TypeError(`expected weight of node ${JSON.stringify(id)} to be a positive integer, got ${describe(weight)}`);
  }
  return Object.freeze({ id, weight });
}

/** 64 bits of murmur3 (two seeds) over a canonical JSON of format, options and sorted members. */
function fingerprintOf(nodes: readonly RingNode[], options: Readonly<ResolvedRingOptions>): string {
  const canonical = JSON.stringify([RING_FORMAT, options.pointsPerWeight, options.loadFactor, nodes.map((n) => [n.id, n.weight])]);
  const hex = (h: number): string => h.toString(16).padStart(8, '0');
  return `${RING_FORMAT}-${hex(murmur3(canonical, 0))}${hex(murmur3(canonical, 0x5bd1e995))}`;
}

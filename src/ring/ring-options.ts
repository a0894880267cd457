// The ring's options, their frozen defaults, and validation with messages that say what to fix.

/** How a {@link HashRing} places points and bounds loads. Every field is optional. */
export interface RingOptions {
  /**
   * Virtual points per unit of node weight (a node of weight w gets `w × pointsPerWeight` points).
   * Balance depends on points *per node*: with random points a node's share has a relative
   * standard deviation of about 1/√points. Measured over 200 random clusters of 10 equal nodes:
   * 1,024 points per node give a max/mean share of 1.05 on average (worst 1.10); 256 give 1.10
   * (worst 1.18); 160, ketama's figure, 1.13 (worst 1.26). The default gives even a
   * single-thread node ~1,000 points; clusters of
   * many wide nodes may lower it, since their nodes already carry thousands of points each.
   * Memory is 6 bytes per point; a membership change re-sorts all points (~100 ms per million).
   * @default 1024
   */
  readonly pointsPerWeight?: number;
  /**
   * `c` in Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded Loads" (2018):
   * `ownerOfBounded` skips a node whose in-flight count is at or above
   * `ceil(c × (total + 1) × weight / totalWeight)`. Must be at least 1, so that the caps always
   * add up to more than the load and some node can take the task. Smaller values balance more
   * tightly but move more tasks off their owner (less cache affinity); the paper's analysis
   * bounds the expected moves by about 1/ε² for c = 1 + ε.
   * @default 1.25
   */
  readonly loadFactor?: number;
}

/** Resolved options: every field present. */
export type ResolvedRingOptions = Required<RingOptions>;

/** The defaults, frozen so no caller can change placement for everyone else. */
export const DEFAULTS: Readonly<ResolvedRingOptions> = Object.freeze({
  pointsPerWeight: 1024,
  loadFactor: 1.25,
});

/** Upper bound on pointsPerWeight: beyond it points only cost memory and build time. */
export const MAX_POINTS_PER_WEIGHT = 65_536;
/** Upper bound on all points of one ring (~100 MB while building); protects the scheduler's heap. */
export const MAX_TOTAL_POINTS = 2 ** 24;
/** Node ordinals are stored in a Uint16Array. */
export const MAX_NODES = 65_536;

const OPTION_KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULTS));

/** Checks `options` and fills in the defaults; throws a TypeError naming the bad field. */
export function resolveRingOptions(options: RingOptions | undefined): ResolvedRingOptions {
  if (options === undefined) return DEFAULTS;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`expected options to be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(`expected options to have only ${[...OPTION_KEYS].join(', ')}, got unknown option ${JSON.stringify(key)}`);
    }
  }
  // `=== undefined` rather than `??`: a null from JSON config is a mistake to report, not a default.
  const pointsPerWeight: unknown = options.pointsPerWeight === undefined ? DEFAULTS.pointsPerWeight : options.pointsPerWeight;
  if (typeof pointsPerWeight !== 'number' || !Number.isInteger(pointsPerWeight) || pointsPerWeight < 1 || pointsPerWeight > MAX_POINTS_PER_WEIGHT) {
    throw new TypeError(`expected pointsPerWeight to be an integer from 1 to ${MAX_POINTS_PER_WEIGHT}, got ${describe(pointsPerWeight)}`);
  }
  const loadFactor: unknown = options.loadFactor === undefined ? DEFAULTS.loadFactor : options.loadFactor;
  if (typeof loadFactor !== 'number' || !Number.isFinite(loadFactor) || loadFactor < 1) {
    throw new TypeError(`expected loadFactor to be a finite number >= 1, got ${describe(loadFactor)}`);
  }
  return Object.freeze({ pointsPerWeight, loadFactor });
}

/** A value as it should appear after "got": strings quoted, everything with its type. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `${String(value)} (${typeof value})`;
}

// Public surface of the consistent hash ring: what the scheduler and the dashboard import.
export { HashRing, boundedLoadCap, type Loads, type NodeShare, type RingNode } from './hash-ring.js';
export { DEFAULTS, MAX_NODES, MAX_POINTS_PER_WEIGHT, MAX_TOTAL_POINTS, type RingOptions, type ResolvedRingOptions } from './ring-options.js';
export { murmur3 } from './murmur3.js';

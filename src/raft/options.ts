// Options of the pure Raft core, in ticks, with their defaults and validation.
import type { NodeId } from './types.js';
import type { RandomSource } from './random.js';

/**
 * Time in the core is counted in ticks; the driver ticks every `tickMs` (50 ms by default), so the
 * defaults mean a heartbeat every 100 ms and an election timeout drawn from [500, 1000) ms.
 */
export interface RaftCoreOptions {
  /** This node's id; must be non-empty. */
  readonly id: NodeId;
  /** The only randomness the core uses (election timeout jitter). */
  readonly random: RandomSource;
  /**
   * Base election timeout in ticks; each election waits a random count in [electionTicks, 2 × electionTicks) (Raft §5.2).
   * @default 10
   */
  readonly electionTicks?: number;
  /**
   * Ticks between leader heartbeats; must be smaller than electionTicks.
   * @default 2
   */
  readonly heartbeatTicks?: number;
  /**
   * Probe for a majority before bumping the term, so a rejoining node cannot depose a healthy leader (thesis §9.6).
   * @default true
   */
  readonly preVote?: boolean;
  /**
   * A leader that has not heard from a majority within an election timeout steps down (thesis §6.2); also
   * lets followers ignore votes while they hear from a leader (leader lease).
   * @default true
   */
  readonly checkQuorum?: boolean;
  /**
   * With checkQuorum, how many ticks a leader waits to hear from a majority before it steps down
   * (thesis §6.2 says one election timeout, the default). Longer keeps a leader whose answers come
   * late (a loaded machine) from stepping down and forcing an election nobody needed; a leader cut
   * off in a minority then believes it leads that much longer (its writes are fenced by term).
   * @default electionTicks
   */
  readonly quorumTicks?: number;
  /**
   * Most entries in one AppendEntries message.
   * @default 64
   */
  readonly maxEntriesPerMessage?: number;
  /**
   * Most uncommitted entries a leader accepts before proposals are refused (back-pressure).
   * @default 4096
   */
  readonly maxUncommittedEntries?: number;
}

export type ResolvedRaftCoreOptions = Required<RaftCoreOptions>;

export const RAFT_CORE_DEFAULTS = Object.freeze({
  electionTicks: 10,
  heartbeatTicks: 2,
  preVote: true,
  checkQuorum: true,
  maxEntriesPerMessage: 64,
  maxUncommittedEntries: 4096,
});

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
}

export function resolveRaftCoreOptions(options: RaftCoreOptions): ResolvedRaftCoreOptions {
  if (typeof options.id !== 'string' || options.id.length === 0) throw new TypeError(`id must be a non-empty string, got ${JSON.stringify(options.id)}`);
  if (options.random === undefined || typeof options.random.nextInt !== 'function') throw new TypeError('random must be a RandomSource with nextInt(bound)');
  const merged = { ...RAFT_CORE_DEFAULTS, ...stripUndefined(options) };
  const resolved = { ...merged, quorumTicks: merged.quorumTicks ?? merged.electionTicks } as ResolvedRaftCoreOptions;
  positiveInteger('electionTicks', resolved.electionTicks);
  positiveInteger('heartbeatTicks', resolved.heartbeatTicks);
  positiveInteger('quorumTicks', resolved.quorumTicks);
  positiveInteger('maxEntriesPerMessage', resolved.maxEntriesPerMessage);
  positiveInteger('maxUncommittedEntries', resolved.maxUncommittedEntries);
  if (resolved.heartbeatTicks >= resolved.electionTicks) {
    throw new RangeError(`heartbeatTicks (${resolved.heartbeatTicks}) must be smaller than electionTicks (${resolved.electionTicks})`);
  }
  return Object.freeze(resolved);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

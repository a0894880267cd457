// The data the Raft core speaks: log entries, persisted state, snapshots and messages.

/** A scheduler replica's stable identity within the Raft group. */
export type NodeId = string;

/** The empty vote / unknown leader. */
export const NONE: NodeId = '';

/** One voting member: its id and an opaque address the edge uses to reach it (an URL for HTTP). */
export interface Member {
  readonly id: NodeId;
  readonly address?: string;
}

/** The voting configuration: every config entry carries the whole resulting set (Raft thesis §4.1). */
export interface ConfState {
  readonly voters: readonly Member[];
}

export type EntryPayload =
  /** A client command for the replicated state machine. Must be JSON-serialisable. */
  | { readonly kind: 'command'; readonly command: unknown }
  /** The entry each new leader appends so it can commit entries of earlier terms (Raft §5.4.2, §8). */
  | { readonly kind: 'noop' }
  /** A membership configuration, in force as soon as it is in the log (Raft thesis §4.1). */
  | { readonly kind: 'config'; readonly conf: ConfState };

export type Entry = { readonly index: number; readonly term: number } & EntryPayload;

/** What must be on stable storage before any message that depends on it is sent (Raft Figure 2). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  /** Persisted lazily: it may lag behind the in-memory commit index, never lead it. */
  readonly commit: number;
}

/** The state machine's state up to and including `index` (Raft §7). */
export interface Snapshot {
  readonly index: number;
  readonly term: number;
  /** The configuration in force at `index`. */
  readonly conf: ConfState;
  /** Whatever the application's snapshot() hook returned; JSON-serialisable. */
  readonly data: unknown;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** AppendEntries (Raft §5.3). `commit` lets followers learn what is committed. */
export interface AppendMessage extends MessageBase {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponseMessage extends MessageBase {
  readonly type: 'appendResponse';
  /** On success the follower's last index that now matches the leader; on reject the rejected prevIndex. */
  readonly index: number;
  readonly reject: boolean;
  /** On reject: an index at or below which the leader should retry (fast backtracking, Raft §5.3 end). */
  readonly rejectHint: number;
  readonly rejectHintTerm: number;
}

/** RequestVote (Raft §5.2) or its PreVote probe (Raft thesis §9.6), whose `term` is the term it would use. */
export interface VoteMessage extends MessageBase {
  readonly type: 'vote' | 'preVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set when campaigning on a leader's TimeoutNow: voters then ignore their leader lease (thesis §3.10). */
  readonly transfer: boolean;
}

export interface VoteResponseMessage extends MessageBase {
  readonly type: 'voteResponse' | 'preVoteResponse';
  readonly reject: boolean;
}

/** Leader liveness; `commit` is capped at what the follower is known to match. `context` carries ReadIndex rounds. */
export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly context: string;
}

export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: 'heartbeatResponse';
  readonly context: string;
}

/** InstallSnapshot (Raft §7), sent whole: the control state is small. */
export interface SnapshotMessage extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** Tells an up-to-date follower to campaign now: the last step of leadership transfer (thesis §3.10). */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeoutNow';
}

export type RaftMessage =
  | AppendMessage
  | AppendResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage;

export type MessageType = RaftMessage['type'];

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state the caller may want to observe; reported in Ready when it changes. */
export interface SoftState {
  readonly role: Role;
  readonly leaderId: NodeId;
  readonly term: number;
}

/** A linearizable read may be served once the state machine has applied `index` (Raft thesis §6.4). */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/**
 * Everything the caller must do, in order: persist `snapshot`, `entries` and `hardState` (fsync),
 * then send `messages`, then restore `snapshot` into the state machine (when present) and apply
 * `committedEntries`, then call advance().
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  /** Entries to append; the first one's index may overwrite (truncate) what is already stored. */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: persist it, then restore the state machine from it. */
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly RaftMessage[];
  readonly readStates: readonly ReadState[];
}

/** What the storage hands back on start: the core's whole durable state. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot?: Snapshot;
  /** Entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
}

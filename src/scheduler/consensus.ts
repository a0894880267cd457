// The narrow view of a Raft node that the scheduler needs; node/ adapts the Raft driver to it.

export interface ConsensusStatus {
  readonly id: string;
  readonly role: 'leader' | 'follower' | 'candidate' | 'pre-candidate';
  readonly term: number;
  /** '' when no leader is known. */
  readonly leaderId: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly peers: ReadonlyArray<{ readonly id: string; readonly url?: string; readonly lastContactMs?: number; readonly matchIndex?: number }>;
}

export interface ConsensusNode {
  status(): ConsensusStatus;
  /** Resolves once the command is committed and applied here; rejects (NOT_LEADER) on a follower. */
  propose(command: unknown): Promise<{ index: number; term: number }>;
  onLeaderChange(listener: (leaderId: string, term: number, isMe: boolean) => void): () => void;
}

// The seam between the Raft driver and whatever carries messages between schedulers.
import type { Member, NodeId, RaftMessage } from './types.js';

/**
 * Fire-and-forget: send() never blocks and never throws for a network problem; a message that
 * cannot be delivered is dropped, and Raft retries (Raft §5.3: "retries RPCs indefinitely").
 */
export interface RaftTransport {
  send(to: NodeId, messages: readonly RaftMessage[]): void;
  /** The current configuration's members, so the transport knows where each one is. */
  setPeers?(members: readonly Member[]): void;
  close?(): void | Promise<void>;
}

// An in-process Raft transport: drivers in one process exchange messages asynchronously, with cuttable links.
import type { RaftTransport } from '../raft/transport.js';
import type { NodeId, RaftMessage } from '../raft/types.js';

/** Connects RaftDrivers living in one process (tests, a single-process cluster). Delivery is asynchronous. */
export class MemoryNetwork {
  readonly #receivers = new Map<NodeId, (messages: readonly RaftMessage[]) => void>();
  readonly #cut = new Set<string>();

  /** The transport for node `id`; pass the node's receive function once its driver exists. */
  transport(id: NodeId): RaftTransport & { attach(receive: (messages: readonly RaftMessage[]) => void): void } {
    return {
      attach: (receive) => {
        this.#receivers.set(id, receive);
      },
      send: (to, messages) => {
        if (this.#cut.has(`${id}>${to}`)) return;
        setImmediate(() => {
          if (this.#cut.has(`${id}>${to}`)) return;
          this.#receivers.get(to)?.(messages);
        });
      },
      close: () => {
        this.#receivers.delete(id);
      },
    };
  }

  /** Cut both directions between `id` and every other node. */
  isolate(id: NodeId): void {
    for (const other of this.#receivers.keys()) {
      if (other === id) continue;
      this.#cut.add(`${id}>${other}`);
      this.#cut.add(`${other}>${id}`);
    }
  }

  heal(): void {
    this.#cut.clear();
  }
}

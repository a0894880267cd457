// Leadership from Raft: this scheduler schedules only while it leads, fenced by its term (docs/architecture.md §1-§2).
import type { Logger } from 'pino';
import type { ConsensusNode } from './consensus.js';
import type { Leadership } from './leadership.js';

export class RaftLeadership implements Leadership {
  readonly #node: ConsensusNode;
  readonly #logger: Logger;
  readonly #listeners = new Set<(term: number | undefined) => void>();
  #term: number | undefined;
  #unsubscribe: () => void;

  constructor(node: ConsensusNode, logger: Logger) {
    this.#node = node;
    this.#logger = logger;
    this.#unsubscribe = node.onLeaderChange((_leader, term, isMe) => void this.#changed(term, isMe));
    const status = node.status();
    if (status.role === 'leader') void this.#changed(status.term, true);
  }

  get term(): number | undefined {
    // Checked on every use: a leader that stepped down (CheckQuorum) stops at once.
    const status = this.#node.status();
    return status.role === 'leader' && status.term === this.#term ? this.#term : undefined;
  }

  async #changed(term: number, isMe: boolean): Promise<void> {
    if (!isMe) {
      if (this.#term !== undefined) {
        this.#term = undefined;
        this.#emit(undefined);
      }
      return;
    }
    try {
      // A new leader schedules only once an entry of its own term is committed and applied:
      // then its control state (the ring's membership) is as up to date as any (Raft §5.4.2, §8).
      await this.#node.propose({ type: 'noop' });
    } catch (err) {
      this.#logger.warn({ err }, 'lost leadership before the first entry of the term committed');
      return;
    }
    const status = this.#node.status();
    if (status.role !== 'leader' || status.term !== term) return;
    this.#term = term;
    this.#logger.info({ term }, 'leading: scheduling starts');
    this.#emit(term);
  }

  #emit(term: number | undefined): void {
    for (const listener of this.#listeners) listener(term);
  }

  onChange(listener: (term: number | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#unsubscribe();
  }
}

// A hand-driven cluster for scenario tests: no clock, messages delivered only when asked, with filters.
import { bootstrapState, RaftCore } from '../../src/raft/core.js';
import type { RaftCoreOptions } from '../../src/raft/options.js';
import { SeededRandom } from '../../src/raft/random.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { NodeId, RaftMessage } from '../../src/raft/types.js';
import { InvariantChecker } from './invariants.js';

type CoreTuning = Omit<RaftCoreOptions, 'id' | 'random'>;

/** Like etcd raft's test `network`: step, deliver everything pending, drop what a filter rejects. */
export class ManualCluster {
  readonly checker = new InvariantChecker();
  readonly #storages = new Map<NodeId, MemoryStorage>();
  readonly #cores = new Map<NodeId, RaftCore>();
  readonly #tuning: CoreTuning;
  readonly #rng = new SeededRandom(1);
  #pending: RaftMessage[] = [];
  readonly #cut = new Set<string>();
  /** Return false to drop a message. */
  filter: (m: RaftMessage) => boolean = () => true;
  /** Every message that was delivered, in order. */
  readonly delivered: RaftMessage[] = [];

  constructor(ids: readonly NodeId[], tuning: CoreTuning = {}) {
    this.#tuning = tuning;
    const initial = bootstrapState(ids.map((id) => ({ id })));
    for (const id of ids) {
      this.checker.registerInitialEntries(id, initial.entries);
      this.#storages.set(id, new MemoryStorage(initial));
      this.restart(id);
    }
  }

  core(id: NodeId): RaftCore {
    const c = this.#cores.get(id);
    if (c === undefined) throw new Error(`${id} is down`);
    return c;
  }

  storage(id: NodeId): MemoryStorage {
    return this.#storages.get(id) as MemoryStorage;
  }

  isUp(id: NodeId): boolean {
    return this.#cores.has(id);
  }

  crash(id: NodeId): void {
    this.#cores.delete(id);
  }

  restart(id: NodeId): void {
    const core = new RaftCore({ ...this.#tuning, id, random: this.#rng.fork() }, this.storage(id).load());
    this.#cores.set(id, core);
    this.checker.onRestart(core);
    this.#process(core);
  }

  campaign(id: NodeId): void {
    this.core(id).campaign();
    this.#process(this.core(id));
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.core(id).tick();
      this.#process(this.core(id));
    }
  }

  propose(id: NodeId, command: unknown): ReturnType<RaftCore['propose']> {
    const r = this.core(id).propose(command);
    this.#process(this.core(id));
    return r;
  }

  /** Cut both directions between a and each of `others`. */
  cut(a: NodeId, ...others: NodeId[]): void {
    for (const b of others) {
      this.#cut.add(`${a}>${b}`);
      this.#cut.add(`${b}>${a}`);
    }
  }

  heal(): void {
    this.#cut.clear();
    this.filter = () => true;
  }

  /** Deliver pending messages (and those they cause) until none is left. */
  stabilize(maxMessages = 100_000): void {
    let n = 0;
    while (this.#pending.length > 0) {
      if (n++ > maxMessages) throw new Error('stabilize: messages keep flowing');
      const m = this.#pending.shift() as RaftMessage;
      if (this.#cut.has(`${m.from}>${m.to}`) || !this.filter(m)) continue;
      const core = this.#cores.get(m.to);
      if (core === undefined) continue;
      this.delivered.push(m);
      core.step(m);
      this.#process(core);
    }
  }

  /** Drop everything pending (lost in the network). */
  dropPending(): void {
    this.#pending = [];
  }

  #process(core: RaftCore): void {
    const storage = this.storage(core.id);
    while (core.hasReady()) {
      const rd = core.ready();
      storage.save({ ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }), entries: rd.entries, ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }) });
      this.checker.onPersisted(core.id, rd.hardState, rd.entries, core, rd.snapshot);
      if (rd.softState?.role === 'leader') this.checker.onBecameLeader(core);
      for (const m of rd.messages) {
        this.checker.onSend(core.id, m, storage.load().hardState);
        this.#pending.push(m);
      }
      core.advance();
    }
    this.checker.afterStep([...this.#cores.values()]);
  }
}

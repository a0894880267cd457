// The durable-state seam of Raft (what must survive a crash) and an in-memory implementation for tests.
import type { Entry, HardState, PersistedState, Snapshot } from './types.js';
import { NONE } from './types.js';

/** One Ready's worth of durable changes, applied in this order: snapshot, entries, hard state. */
export interface StorageUpdate {
  readonly hardState?: HardState;
  /** Contiguous; the first one's index may overwrite (truncate) what is stored from there on. */
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
}

/**
 * Synchronous on purpose: save() returns only once the update is durable (fsynced), so the caller can
 * send the messages that depend on it right after (Raft Figure 2: "respond after persisting").
 */
export interface RaftStorage {
  /** The durable state as of the last successful save/compact. */
  load(): PersistedState;
  save(update: StorageUpdate): void;
  /** Replace every entry up to snapshot.index by the snapshot (Raft §7). */
  compact(snapshot: Snapshot): void;
  close(): void;
}

/** Applies an update to a plain durable state; shared by MemoryStorage and the file storage's replay. */
export function applyUpdate(state: PersistedState, update: StorageUpdate): PersistedState {
  let snapshot = state.snapshot;
  let entries = [...state.entries];
  if (update.snapshot !== undefined && update.snapshot.index > (snapshot?.index ?? 0)) {
    snapshot = update.snapshot;
    entries = [];
  }
  entries = appendEntries(snapshot?.index ?? 0, entries, update.entries);
  const hardState = update.hardState ?? state.hardState;
  return snapshot === undefined ? { hardState, entries } : { hardState, snapshot, entries };
}

export function compactState(state: PersistedState, snapshot: Snapshot): PersistedState {
  const base = state.snapshot?.index ?? 0;
  if (snapshot.index <= base) return state;
  const entries = state.entries.filter((e) => e.index > snapshot.index);
  const hardState = state.hardState.commit < snapshot.index ? { ...state.hardState, commit: snapshot.index } : state.hardState;
  return { hardState, snapshot, entries };
}

function appendEntries(snapshotIndex: number, existing: Entry[], incoming: readonly Entry[]): Entry[] {
  appendEntriesInPlace(snapshotIndex, existing, incoming);
  return existing;
}

/** Overwrites `entries` (contiguous after `snapshotIndex`) from incoming[0].index on; throws on a gap. */
export function appendEntriesInPlace(snapshotIndex: number, entries: Entry[], incoming: readonly Entry[]): void {
  const first = incoming[0];
  if (first === undefined) return;
  const from = Math.max(first.index, snapshotIndex + 1);
  const keepCount = from - snapshotIndex - 1;
  if (keepCount > entries.length) throw new RangeError(`entries starting at ${first.index} would leave a gap after index ${snapshotIndex + entries.length}`);
  entries.length = keepCount;
  for (const e of incoming) if (e.index >= from) entries.push(e);
}

/** Keeps the durable state in memory: the simulation's "disk", and unit tests'. */
export class MemoryStorage implements RaftStorage {
  #state: PersistedState;

  constructor(initial: PersistedState = { hardState: { term: 0, vote: NONE, commit: 0 }, entries: [] }) {
    this.#state = initial;
  }

  load(): PersistedState {
    return this.#state;
  }

  save(update: StorageUpdate): void {
    this.#state = applyUpdate(this.#state, update);
  }

  compact(snapshot: Snapshot): void {
    this.#state = compactState(this.#state, snapshot);
  }

  close(): void {}
}

// Durable Raft state in one append-only file per node: checksummed records, fsync per save, torn-tail recovery.
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RingpoolError } from '../errors.js';
import { appendEntriesInPlace, type RaftStorage, type StorageUpdate } from './storage.js';
import { NONE, type Entry, type HardState, type PersistedState, type Snapshot } from './types.js';

/**
 * File layout: an 8-byte magic, then records. A record is
 * `[u32 payload length][u32 crc32 of type byte + payload][u8 type][payload: UTF-8 JSON]`, little endian.
 * Each save() is exactly one record (hard state, snapshot and entries together), appended and fsynced
 * before returning, so a save is all-or-nothing and term and vote are on disk before any message that
 * depends on them leaves (Raft Figure 2). A record is valid only whole and with a matching checksum;
 * replay stops at the first one that is not, and the file is cut back to there.
 */
const MAGIC = Buffer.from('RPRAFT01', 'latin1');
const HEADER_BYTES = 9;
const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** The one record type: a StorageUpdate. */
const RECORD_UPDATE = 1;

export const WAL_FILE_NAME = 'raft.wal';

export interface FileStorageOptions {
  /** Directory holding this node's file; created if missing. */
  readonly dir: string;
  /**
   * fsync after every save (required for Raft's guarantees; turn off only in tests that do not crash).
   * @default true
   */
  readonly fsync?: boolean;
  /**
   * Split each record into write() calls of at most this many bytes. Only for crash tests: a SIGKILL
   * between those calls leaves a torn record, as a power cut can. Undefined means one write per record.
   * @default undefined
   */
  readonly writeChunkBytes?: number;
}

/** What opening the file found; `truncatedBytes > 0` means a torn or corrupted tail was cut off. */
export interface RecoveryReport {
  readonly path: string;
  readonly records: number;
  readonly validBytes: number;
  readonly truncatedBytes: number;
  /** Why replay stopped early, with the offset; undefined when the whole file was valid. */
  readonly problem?: string;
}

export const FILE_STORAGE_DEFAULTS = Object.freeze({ fsync: true });

function encodeRecord(type: number, value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  const record = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt8(type, 8);
  payload.copy(record, HEADER_BYTES);
  record.writeUInt32LE(crc32(record.subarray(8)), 4);
  return record;
}

interface MutableState {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

function emptyState(): MutableState {
  return { hardState: { term: 0, vote: NONE, commit: 0 }, snapshot: undefined, entries: [] };
}

/** Replays records into a state; stops at the first invalid one. Exported for the reader tests. */
export function replayWal(bytes: Buffer, path = '(buffer)'): { state: MutableState; report: RecoveryReport } {
  const state = emptyState();
  let offset = 0;
  let records = 0;
  let problem: string | undefined;
  if (bytes.length === 0) {
    return { state, report: { path, records, validBytes: 0, truncatedBytes: 0 } };
  }
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    if (bytes.length < MAGIC.length && MAGIC.subarray(0, bytes.length).equals(bytes)) problem = 'torn file header at offset 0';
    else throw new Error(`${path} is not a ringpool Raft log (bad magic); refusing to touch it`);
  } else {
    offset = MAGIC.length;
    while (offset < bytes.length) {
      if (bytes.length - offset < HEADER_BYTES) {
        problem = `torn record header at offset ${offset} (${bytes.length - offset} of ${HEADER_BYTES} bytes)`;
        break;
      }
      const length = bytes.readUInt32LE(offset);
      const checksum = bytes.readUInt32LE(offset + 4);
      if (length > MAX_RECORD_BYTES) {
        problem = `implausible record length ${length} at offset ${offset}`;
        break;
      }
      const end = offset + HEADER_BYTES + length;
      if (end > bytes.length) {
        problem = `torn record at offset ${offset}: ${bytes.length - offset - HEADER_BYTES} of ${length} payload bytes`;
        break;
      }
      if (crc32(bytes.subarray(offset + 8, end)) !== checksum) {
        problem = `checksum mismatch in record at offset ${offset}`;
        break;
      }
      const type = bytes.readUInt8(offset + 8);
      const applied = applyRecord(state, type, bytes.subarray(offset + HEADER_BYTES, end));
      if (applied !== undefined) {
        problem = `${applied} in record at offset ${offset}`;
        break;
      }
      records++;
      offset = end;
    }
  }
  const validBytes = problem === undefined ? bytes.length : offset;
  const report: RecoveryReport = { path, records, validBytes, truncatedBytes: bytes.length - validBytes, ...(problem === undefined ? {} : { problem }) };
  return { state, report };
}

/** Applies one record; returns a description of what is wrong with it, or undefined. */
function applyRecord(state: MutableState, type: number, payload: Buffer): string | undefined {
  if (type !== RECORD_UPDATE) return `unknown record type ${type}`;
  let update: StorageUpdate;
  try {
    update = JSON.parse(payload.toString('utf8')) as StorageUpdate;
  } catch {
    return 'unparsable JSON';
  }
  if (update === null || typeof update !== 'object' || !Array.isArray(update.entries)) return 'not a storage update';
  try {
    applyToState(state, update);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

function applyToState(state: MutableState, update: StorageUpdate): void {
  if (update.snapshot !== undefined) {
    state.snapshot = update.snapshot;
    state.entries = [];
  }
  if (update.entries.length > 0) appendEntriesInPlace(state.snapshot?.index ?? 0, state.entries, update.entries);
  if (update.hardState !== undefined) state.hardState = update.hardState;
}

export class FileStorage implements RaftStorage {
  readonly path: string;
  readonly recovery: RecoveryReport;
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #writeChunkBytes: number;
  #fd: number;
  readonly #state: MutableState;
  /** Set when a write failed: what is on disk is unknown, so the node must stop (and recover on restart). */
  #failed: Error | undefined;

  /** Opens (or creates) the node's file, recovering from a torn or corrupted tail: see `recovery`. */
  constructor(options: FileStorageOptions) {
    if (typeof options.dir !== 'string' || options.dir.length === 0) throw new RingpoolError('CONFIG', `dir must be a non-empty path, got ${JSON.stringify(options.dir)}`);
    this.#dir = options.dir;
    this.#fsync = options.fsync ?? FILE_STORAGE_DEFAULTS.fsync;
    if (options.writeChunkBytes !== undefined && (!Number.isInteger(options.writeChunkBytes) || options.writeChunkBytes <= 0)) {
      throw new RangeError(`writeChunkBytes must be a positive integer, got ${String(options.writeChunkBytes)}`);
    }
    this.#writeChunkBytes = options.writeChunkBytes ?? Number.POSITIVE_INFINITY;
    mkdirSync(this.#dir, { recursive: true });
    this.path = join(this.#dir, WAL_FILE_NAME);
    const bytes = existsSync(this.path) ? readFileSync(this.path) : Buffer.alloc(0);
    const { state, report } = replayWal(bytes, this.path);
    this.#state = state;
    this.recovery = report;
    this.#fd = openSync(this.path, existsSync(this.path) ? 'r+' : 'w+');
    if (report.truncatedBytes > 0 || bytes.length < MAGIC.length) {
      // Cut the torn tail so new records follow the last valid one.
      ftruncateSync(this.#fd, report.validBytes < MAGIC.length ? 0 : report.validBytes);
      if (report.validBytes < MAGIC.length) writeSync(this.#fd, MAGIC, 0, MAGIC.length, 0);
      fsyncSync(this.#fd);
    }
    closeSync(this.#fd);
    this.#fd = openSync(this.path, 'a');
    if (bytes.length === 0) this.#syncDir();
  }

  load(): PersistedState {
    const { hardState, snapshot, entries } = this.#state;
    return snapshot === undefined ? { hardState, entries: [...entries] } : { hardState, snapshot, entries: [...entries] };
  }

  save(update: StorageUpdate): void {
    if (update.entries.length === 0 && update.hardState === undefined && update.snapshot === undefined) return;
    if (this.#failed !== undefined) throw new Error(`${this.path}: an earlier write failed; restart to recover`, { cause: this.#failed });
    // The in-memory mirror first: it validates the update (no gap) before anything reaches the file.
    applyToState(this.#state, update);
    this.#write(encodeRecord(RECORD_UPDATE, update));
  }

  /** Rewrites the file as snapshot + hard state + remaining entries, atomically (write, fsync, rename). */
  compact(snapshot: Snapshot): void {
    if (snapshot.index <= (this.#state.snapshot?.index ?? 0)) return;
    const entries = this.#state.entries.filter((e) => e.index > snapshot.index);
    const hardState = this.#state.hardState.commit < snapshot.index ? { ...this.#state.hardState, commit: snapshot.index } : this.#state.hardState;
    const rewritten: StorageUpdate = { hardState, snapshot, entries };
    const parts = [MAGIC, encodeRecord(RECORD_UPDATE, rewritten)];
    const tmp = `${this.path}.compact`;
    const fd = openSync(tmp, 'w');
    try {
      const buf = Buffer.concat(parts);
      writeSync(fd, buf, 0, buf.length);
      if (this.#fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    closeSync(this.#fd);
    renameSync(tmp, this.path);
    this.#syncDir();
    this.#fd = openSync(this.path, 'a');
    this.#state.snapshot = snapshot;
    this.#state.entries = entries;
    this.#state.hardState = hardState;
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }

  #write(buf: Buffer): void {
    if (this.#fd < 0) throw new Error(`${this.path} is closed`);
    try {
      let written = 0;
      while (written < buf.length) written += writeSync(this.#fd, buf, written, Math.min(buf.length - written, this.#writeChunkBytes));
      if (this.#fsync) fsyncSync(this.#fd);
    } catch (err) {
      this.#failed = err as Error;
      throw err;
    }
  }

  #syncDir(): void {
    if (!this.#fsync) return;
    // A new or renamed file is durable only once its directory entry is (POSIX rename semantics).
    try {
      const fd = openSync(this.#dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      /* some platforms cannot fsync a directory */
    }
  }
}

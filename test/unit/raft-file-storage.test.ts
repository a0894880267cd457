// The Raft write-ahead file: round trips, compaction, and recovery from truncated and corrupted files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStorage, replayWal, WAL_FILE_NAME } from '../../src/raft/file-storage.js';
import type { Entry } from '../../src/raft/types.js';

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ringpool-raft-wal-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const cmd = (index: number, term: number, command: unknown = `c${index}`): Entry => ({ index, term, kind: 'command', command });

/** Writes three saves and returns the file's bytes plus each save's end offset. */
function threeSaves(dir: string): { bytes: Buffer; ends: number[] } {
  const s = new FileStorage({ dir });
  const ends: number[] = [];
  s.save({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: [cmd(1, 1), cmd(2, 1)] });
  ends.push(readFileSync(s.path).length);
  s.save({ hardState: { term: 2, vote: 'b', commit: 2 }, entries: [cmd(3, 2)] });
  ends.push(readFileSync(s.path).length);
  s.save({ entries: [cmd(4, 2, 'x'.repeat(100))] });
  ends.push(readFileSync(s.path).length);
  s.close();
  return { bytes: readFileSync(s.path), ends };
}

describe('FileStorage', () => {
  it('reopens with the same hard state, snapshot and entries, overwriting from a conflicting index', () => {
    const dir = freshDir();
    const s = new FileStorage({ dir });
    s.save({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: [cmd(1, 1), cmd(2, 1), cmd(3, 1)] });
    s.save({ hardState: { term: 2, vote: '', commit: 1 }, entries: [cmd(2, 2)] });
    s.close();
    const r = new FileStorage({ dir });
    expect(r.recovery.truncatedBytes).toBe(0);
    expect(r.recovery.problem).toBeUndefined();
    expect(r.load()).toEqual({ hardState: { term: 2, vote: '', commit: 1 }, entries: [cmd(1, 1), cmd(2, 2)] });
    r.close();
  });

  it('compaction rewrites the file as snapshot + remaining entries, and that survives a reopen', () => {
    const dir = freshDir();
    const s = new FileStorage({ dir });
    s.save({ hardState: { term: 3, vote: 'a', commit: 4 }, entries: [1, 2, 3, 4, 5].map((i) => cmd(i, 3)) });
    const before = readFileSync(s.path).length;
    s.compact({ index: 3, term: 3, conf: { voters: [{ id: 'a' }] }, data: { x: 1 } });
    s.save({ entries: [cmd(6, 3)] });
    expect(readFileSync(s.path).length).toBeLessThan(before + 200);
    s.close();
    const r = new FileStorage({ dir });
    expect(r.load()).toEqual({
      hardState: { term: 3, vote: 'a', commit: 4 },
      snapshot: { index: 3, term: 3, conf: { voters: [{ id: 'a' }] }, data: { x: 1 } },
      entries: [cmd(4, 3), cmd(5, 3), cmd(6, 3)],
    });
    r.close();
  });

  it('a file cut at any byte recovers exactly the saves that were complete, and reports the torn tail', () => {
    const dir = freshDir();
    const { bytes, ends } = threeSaves(dir);
    const path = join(dir, WAL_FILE_NAME);
    for (let cut = 0; cut <= bytes.length; cut++) {
      writeFileSync(path, bytes.subarray(0, cut));
      const s = new FileStorage({ dir, fsync: false });
      const complete = ends.filter((e) => e <= cut).length;
      const state = s.load();
      const lastIndex = state.entries.at(-1)?.index ?? 0;
      expect(lastIndex).toBe([0, 2, 3, 4][complete]);
      expect(state.hardState.term).toBe([0, 1, 2, 2][complete]);
      const atBoundary = cut === 0 || cut === 8 || ends.includes(cut);
      expect(s.recovery.truncatedBytes > 0).toBe(!atBoundary && cut > 0);
      if (!atBoundary && cut > 8) expect(s.recovery.problem).toMatch(/torn record/);
      s.close();
      // Recovery truncated the file to its last valid record: a second open finds nothing wrong.
      const again = new FileStorage({ dir, fsync: false });
      expect(again.recovery.truncatedBytes).toBe(0);
      again.close();
    }
  });

  it('a corrupted byte in a record drops that record and everything after it, and says where', () => {
    const dir = freshDir();
    const { bytes, ends } = threeSaves(dir);
    const path = join(dir, WAL_FILE_NAME);
    const flipAt = (ends[0] as number) + 20; // inside the second save's first record
    const corrupted = Buffer.from(bytes);
    corrupted[flipAt] = (corrupted[flipAt] as number) ^ 0x40;
    writeFileSync(path, corrupted);
    const s = new FileStorage({ dir });
    expect(s.recovery.problem).toBe(`checksum mismatch in record at offset ${ends[0]}`);
    expect(s.recovery.validBytes).toBe(ends[0]);
    expect(s.recovery.truncatedBytes).toBe(bytes.length - (ends[0] as number));
    expect(s.load().entries.map((e) => e.index)).toEqual([1, 2]);
    expect(s.load().hardState).toEqual({ term: 1, vote: 'a', commit: 0 });
    // New records go after the last valid one.
    s.save({ hardState: { term: 5, vote: '', commit: 0 }, entries: [cmd(3, 5)] });
    s.close();
    const r = new FileStorage({ dir });
    expect(r.recovery.truncatedBytes).toBe(0);
    expect(r.load().entries.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 1], [3, 5]]);
    r.close();
  });

  it('a garbage length field is reported, not trusted', () => {
    const dir = freshDir();
    const { bytes, ends } = threeSaves(dir);
    const corrupted = Buffer.from(bytes);
    corrupted.writeUInt32LE(0xfffffff0, ends[1] as number);
    const { report, state } = replayWal(corrupted);
    expect(report.problem).toMatch(/implausible record length/);
    expect(state.entries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('refuses a file that is not a Raft log at all', () => {
    const dir = freshDir();
    writeFileSync(join(dir, WAL_FILE_NAME), 'hello, world: not a log');
    expect(() => new FileStorage({ dir })).toThrow(/not a ringpool Raft log/);
  });

  it('rejects an update that would leave a gap in the log, and writes nothing', () => {
    const dir = freshDir();
    const s = new FileStorage({ dir });
    s.save({ entries: [cmd(1, 1)] });
    const size = readFileSync(s.path).length;
    expect(() => s.save({ entries: [cmd(3, 1)] })).toThrow(/gap/);
    expect(readFileSync(s.path).length).toBe(size);
    s.close();
  });
});

// Crash-restart on the real Raft file: a child process saving in a loop is SIGKILLed mid-write, then recovered.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/raft/file-storage.js';

const work = mkdtempSync(join(tmpdir(), 'ringpool-raft-crash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * The child: recovers, then saves forever; each save bumps the term and votes, and is acknowledged
 * on stdout once it returned (fsynced). A thread of its own SIGKILLs the process `delayUs` into
 * save number `killAt`: a signal sent by the parent would arrive late (its pipe and event loop
 * add milliseconds) and land in the fsync after the writes, where no tail is torn.
 */
const CHILD = `
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { FileStorage } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../src/raft/file-storage.ts')).href)};
const [dir, killAt, delayUs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const go = new Int32Array(new SharedArrayBuffer(4));
new Worker(\`
  const { workerData } = require('node:worker_threads');
  const go = new Int32Array(workerData.go);
  Atomics.wait(go, 0, 0);
  const until = performance.now() + workerData.delayUs / 1000;
  while (performance.now() < until);
  process.kill(process.pid, 'SIGKILL');
\`, { eval: true, workerData: { go: go.buffer, delayUs } });
// Small writes, so that a SIGKILL can land inside a record as a power cut would.
const storage = new FileStorage({ dir, writeChunkBytes: 1024 });
const state = storage.load();
let term = state.hardState.term;
let index = state.entries.at(-1)?.index ?? state.snapshot?.index ?? 0;
writeSync(1, 'recovered ' + JSON.stringify(storage.recovery) + '\\n');
for (let i = 0; ; i++) {
  term++;
  const count = 1 + (i % 4);
  // Big records (0.5–3 MB): thousands of writes, so the kill lands inside one and tears the tail.
  const size = 500_000 + ((i * 7919) % 2_500_000);
  const entries = Array.from({ length: count }, (_, k) => ({ index: index + 1 + k, term, kind: 'command', command: { i, k, pad: 'x'.repeat(k === 0 ? size : 10) } }));
  if (i === killAt) {
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
  }
  storage.save({ hardState: { term, vote: 'n' + (term % 3), commit: index }, entries });
  index += count;
  writeSync(1, 'saved ' + term + ' ' + index + '\\n');
}
`;
const childPath = join(work, 'wal-writer-child.ts');
writeFileSync(childPath, CHILD);

interface Acked {
  term: number;
  index: number;
}

/** Runs the child until it kills itself `delayUs` into save number `killAt`; returns the last acknowledged save. */
function runAndKill(dir: string, killAt: number, delayUs: number): Promise<Acked | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childPath, dir, String(killAt), String(delayUs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let last: Acked | undefined;
    let buffered = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^saved (\d+) (\d+)$/.exec(line);
        if (m !== null) last = { term: Number(m[1]), index: Number(m[2]) };
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}/${signal}: ${stderr}`));
      else resolve(last);
    });
  });
}

describe('Raft file storage under SIGKILL', () => {
  it('keeps every acknowledged save, never moves term or vote backwards, and cuts torn tails', async () => {
    const dir = join(work, 'node');
    let previousTerm = 0;
    let tornTails = 0;
    // Kills land from 0.5 to 25 ms into a save of thousands of writes; keep going until a few torn
    // tails were seen (a kill in the fsync after the writes leaves none).
    let rounds = 0;
    for (let round = 0; round < 40 && (round < 8 || tornTails < 2); round++) {
      rounds++;
      const acked = await runAndKill(dir, 1 + (round % 3), 500 + ((round * 7_919) % 24_500));
      const storage = new FileStorage({ dir });
      const { hardState, entries, snapshot } = storage.load();
      if (storage.recovery.truncatedBytes > 0) {
        tornTails++;
        expect(storage.recovery.problem).toMatch(/torn|checksum/);
      }
      // Persisted term and vote never go backwards, and each vote belongs to its term.
      expect(hardState.term).toBeGreaterThanOrEqual(previousTerm);
      expect(hardState.vote).toBe(`n${hardState.term % 3}`);
      previousTerm = hardState.term;
      // Every save the child acknowledged (returned from fsync) is there.
      expect(acked).toBeDefined();
      expect(hardState.term).toBeGreaterThanOrEqual(acked?.term ?? 0);
      const lastIndex = entries.at(-1)?.index ?? snapshot?.index ?? 0;
      expect(lastIndex).toBeGreaterThanOrEqual(acked?.index ?? 0);
      // The log is contiguous and no entry is from a term after the persisted one.
      entries.forEach((e, i) => {
        expect(e.index).toBe(i + 1);
        expect(e.term).toBeLessThanOrEqual(hardState.term);
      });
      storage.close();
      // Reopening again finds a clean file: recovery truncated what it reported.
      const again = new FileStorage({ dir });
      expect(again.recovery.truncatedBytes).toBe(0);
      again.close();
    }
    console.log(`raft-storage-crash: ${rounds} SIGKILLs, ${tornTails} torn tails found and truncated`);
    expect(tornTails).toBeGreaterThan(0);
  }, 120_000);
});

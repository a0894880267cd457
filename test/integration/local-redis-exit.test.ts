// `ringpool start`'s local Redis pair does not outlive a process that exits without stopping it (a second Ctrl-C, the drain limit, the stuck watchdog).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { running, until } from '../helpers/poll.js';
import { runNode } from '../helpers/processes.js';

const CHILD = fileURLToPath(new URL('../fixtures/processes/local-redis-exit.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ringpool-local-redis-exit-'));
let pids: number[] = [];

afterAll(() => {
  // Whatever the outcome, no Redis of this test runs on.
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the local Redis pair', () => {
  it('is stopped when its process exits without stopping it (process.exit)', async () => {
    const { code, stdout, stderr } = await runNode(['--import', 'tsx', CHILD, dir]);
    expect(code, stderr).toBe(1);
    pids = (JSON.parse(stdout.trim()) as { pids: number[] }).pids;
    expect(pids).toHaveLength(2);
    // SIGTERM on exit: Redis saves its AOF and exits by itself, within moments.
    await until('both redis-server processes to exit', 15_000, () => (pids.every((pid) => !running(pid)) ? true : undefined));
  }, 60_000);
});

// ringpool's threads do not inherit the hooks that registered tsx in the process that starts them
// (`node --import tsx`, the tsx CLI): their entries register tsx's CommonJS hook themselves.
import { describe, expect, it } from 'vitest';
import { threadExecArgv } from '../../src/registry/import-module.js';
import { runNode } from '../helpers/processes.js';

const CHILD = new URL('../fixtures/processes/thread-exec-argv.ts', import.meta.url).pathname;

/** Runs the child with Node options `flags`: its own execArgv and its TaskPool thread's, as it prints them (it must exit 0). */
async function execArgvsOf(flags: string[]): Promise<{ process: string[]; thread: string[] }> {
  const { code, stdout, stderr } = await runNode([...flags, CHILD]);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout.trim()) as { process: string[]; thread: string[] };
}

describe('threadExecArgv', () => {
  it('drops the options that register tsx, in every spelling, and keeps the rest in order', () => {
    const preflight = '/srv/app/node_modules/tsx/dist/preflight.cjs';
    const loader = 'file:///srv/app/node_modules/tsx/dist/loader.mjs';
    expect(
      threadExecArgv(['--max-old-space-size=100', '--import', 'tsx', '--require', preflight, '--import', loader, '--import=tsx/esm', '-r', 'tsx/cjs', '--loader=tsx', '--enable-source-maps']),
    ).toEqual(['--enable-source-maps']);
  });

  it("drops V8's heap options, which a thread refuses (it is sized by resourceLimits), in both spellings", () => {
    expect(threadExecArgv(['--max-semi-space-size', '4', '--max_old_space_size=300', '--heap-growing-percent=20', '--max-http-header-size=100', '--enable-source-maps'])).toEqual([
      '--max-http-header-size=100',
      '--enable-source-maps',
    ]);
  });

  it("drops V8's other options and the whole process's, which a thread refuses too, and keeps Node's own", () => {
    expect(threadExecArgv(['--stack-trace-limit=50', '--expose-gc', '--enable-source-maps', '--no-parallel-scavenge', '--title', 'rp', '--max-http-header-size=100'])).toEqual([
      '--enable-source-maps',
      '--max-http-header-size=100',
    ]);
  });

  it('keeps hooks other than tsx, and a value that only looks alike', () => {
    const argv = ['--import', './otel.js', '--require', 'dotenv/config', '--import=tsx-like', '--loader', '/opt/tsxloader.mjs', '--conditions', 'tsx'];
    expect(threadExecArgv(argv)).toEqual(argv);
  });

  it('a TaskPool thread of a process started with --import tsx runs without it, and still loads TypeScript', async () => {
    const seen = await execArgvsOf(['--import', 'tsx']);
    expect(seen.process).toEqual(['--import', 'tsx']);
    expect(seen.thread).toEqual([]);
  }, 60_000);

  it('a TaskPool thread of a process started with V8 options other than heap sizes runs, with the options a thread takes', async () => {
    const flags = ['--stack-trace-limit=50', '--expose-gc', '--no-parallel-scavenge', '--enable-source-maps'];
    const seen = await execArgvsOf([...flags, '--import', 'tsx']);
    expect(seen.process).toEqual([...flags, '--import', 'tsx']);
    expect(seen.thread).toEqual(['--enable-source-maps']);
  }, 60_000);

  it('a TaskPool thread of a process started with heap options runs (Node refuses them in a thread: ERR_WORKER_INVALID_EXEC_ARGV)', async () => {
    const flags = ['--max-old-space-size=300', '--max-semi-space-size=4', '--heap-growing-percent=20'];
    const seen = await execArgvsOf([...flags, '--import', 'tsx']);
    expect(seen.process).toEqual([...flags, '--import', 'tsx']);
    expect(seen.thread).toEqual([]);
  }, 60_000);
});

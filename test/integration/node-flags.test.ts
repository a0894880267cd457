// A launcher passes the V8 heap options of its own command line to every ringpool process it starts
// (src/cli/node-flags.ts), and still finds those processes by their command lines.
import { describe, expect, it } from 'vitest';
import { v8HeapOptions } from '../../src/registry/import-module.js';
import { runNode } from '../helpers/processes.js';

const BIN = new URL('../../bin/ringpool.mjs', import.meta.url).pathname;
const CHILD = new URL('../fixtures/processes/launcher-commands.ts', import.meta.url).pathname;

interface Launched {
  readonly command: string;
  readonly args: string[];
  readonly match: string;
}

/** The commands (a cluster node, the supervisor, an autoscaled worker) of a launcher started with Node options `flags`. */
async function commandsOf(flags: string[]): Promise<Launched[]> {
  const { code, stdout, stderr } = await runNode([...flags, '--import', 'tsx', CHILD]);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout.trim()) as Launched[];
}

describe('Node options of the processes a launcher starts', () => {
  it("are the launcher's own V8 heap options, before the entry point, and the launcher's patterns still find the processes", async () => {
    const heap = ['--max-semi-space-size=4', '--heap-growing-percent=100'];
    const launched = await commandsOf([...heap, '--stack-trace-limit=50']);
    expect(launched).toHaveLength(3);
    for (const c of launched) {
      expect(c.command).toBe(process.execPath);
      expect(c.args.slice(0, 3)).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=100', BIN]);
      expect([c.command, ...c.args].join(' ')).toMatch(new RegExp(c.match)); // as /proc/PID/cmdline reads, NULs as spaces
    }
  }, 60_000);

  it('are none when the launcher has none', async () => {
    for (const c of await commandsOf([])) {
      expect(c.args[0]).toBe(BIN);
      expect([c.command, ...c.args].join(' ')).toMatch(new RegExp(c.match));
    }
  }, 60_000);

  it('v8HeapOptions reads both spellings and leaves the rest', () => {
    expect(v8HeapOptions(['--max_old_space_size=300', '--stack-trace-limit=50', '--max-semi-space-size', '2', '--import', 'tsx'])).toEqual(['--max_old_space_size=300', '--max-semi-space-size=2']);
  });
});

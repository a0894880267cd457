// The launchers start every ringpool process with a small young generation (src/cli/node-flags.ts), and
// still find those processes by their command lines.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { autoscaledWorkerCommand } from '../../src/cli/cluster/auto-workers.js';
import { autoscaledWorkerFlags, autoscaledWorkerMatch, commonFlags, ringpoolCommand, supervisorCommand } from '../../src/cli/cluster/commands.js';
import { DEFAULT_NODE_FLAGS, nodeFlagsForChildren } from '../../src/cli/node-flags.js';
import { v8HeapOptions } from '../../src/registry/import-module.js';
import { runNode } from '../helpers/processes.js';

const BIN = new URL('../../bin/ringpool.mjs', import.meta.url).pathname;
/** As processes.ts reads /proc/PID/cmdline: the argv joined by spaces. */
const cmdline = (command: string, args: readonly string[]) => [command, ...args].join(' ');

describe('Node options of the processes ringpool starts', () => {
  it('the cluster launcher starts each node and the supervisor with them, before the entry point, and its patterns still match', () => {
    const common = commonFlags({ dir: '/srv/c', sentinels: ['127.0.0.1:26379'], sentinelName: 'rp', prefix: 'rp', logLevel: 'info', jobsDirs: ['/srv/jobs'], extraFlags: [] });
    const worker = ringpoolCommand({ role: 'worker', id: 'w1', port: 7110 }, ['--worker-id', 'w1', '--threads', '2'], common, {});
    const supervisor = supervisorCommand('/srv/c');
    for (const c of [worker, supervisor]) {
      expect(c.command).toBe(process.execPath);
      expect(c.args.slice(0, DEFAULT_NODE_FLAGS.length + 1)).toEqual([...DEFAULT_NODE_FLAGS, BIN]);
      expect(cmdline(c.command, c.args)).toMatch(new RegExp(c.match));
    }
  });

  it('the local autoscaler starts worker nodes with them, and the supervisor still finds them', () => {
    const flags = autoscaledWorkerFlags(2, ['--data-dir', join('/srv/c', 'data')]);
    for (const standby of [false, true]) {
      const [command, ...args] = autoscaledWorkerCommand('auto-1', standby, flags);
      expect(args.slice(0, DEFAULT_NODE_FLAGS.length + 1)).toEqual([...DEFAULT_NODE_FLAGS, BIN]);
      expect(cmdline(command as string, args)).toMatch(new RegExp(autoscaledWorkerMatch('auto-1', join('/srv/c', 'data'))));
    }
  });

  it('`npm start` runs the all-in-one node with them', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(['node', ...DEFAULT_NODE_FLAGS, 'bin/ringpool.mjs', 'start'].join(' '));
  });

  it("passes on the V8 heap options of the launcher's own command line instead, in either spelling", () => {
    expect(nodeFlagsForChildren(['--enable-source-maps'])).toEqual([...DEFAULT_NODE_FLAGS]);
    expect(nodeFlagsForChildren(['--max-semi-space-size', '16', '--heap-growing-percent=20', '--import', 'tsx'])).toEqual(['--max-semi-space-size=16', '--heap-growing-percent=20']);
    expect(v8HeapOptions(['--max_old_space_size=300', '--stack-trace-limit=50'])).toEqual(['--max_old_space_size=300']);
  });

  it("caps the main thread's young generation once ringpool's modules are loaded", async () => {
    // What the option is for: without it V8 grows the semi-spaces to 16 MB each while modules load.
    const script = `require('tsx/cjs/api').register(); require(${JSON.stringify(new URL('../../src/node/node.ts', import.meta.url).pathname)});
      const s = require('node:v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); console.log(s.space_size);`;
    const [capped, uncapped] = await Promise.all([runNode([...DEFAULT_NODE_FLAGS, '-e', script]), runNode(['-e', script])]);
    expect(capped.code, capped.stderr).toBe(0);
    expect(uncapped.code, uncapped.stderr).toBe(0);
    expect(Number(capped.stdout.trim())).toBeLessThanOrEqual(2 * 2 * 1024 * 1024);
    expect(Number(uncapped.stdout.trim())).toBeGreaterThan(2 * 2 * 1024 * 1024);
  }, 60_000);
});

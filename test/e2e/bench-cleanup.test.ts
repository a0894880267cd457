// The bench runner leaves nothing behind (#26): stopped by SIGTERM, SIGINT or its time limit in the
// middle of a suite, every process it started (the Redis pair, the ringpool node, the bare baseline)
// is gone and the suite's temporary directory removed. Runs the real `idle` suite as `npm run bench` does.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commandLineOf, descendantsOf, stillRunning, type SeenProcess } from '../../bench/cleanup.js';
import { until } from '../helpers/poll.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Starts the idle suite; resolves once its Redis pair, node and baseline are all running. */
async function startIdleBench(extra: string[]) {
  const child = spawn(process.execPath, ['--conditions=ringpool-source', '--import', 'tsx', 'bench/run.ts', 'idle', '--seconds', '60', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // Every process started under it, recorded while it runs (the runner may end before the test looks).
  const tree = new Map<number, SeenProcess & { cmd: string }>();
  const watch = setInterval(() => {
    // The command line is read again each time: a process just forked shows its parent's until it execs.
    for (const p of descendantsOf(child.pid as number)) tree.set(p.pid, { ...p, cmd: commandLineOf(p.pid) || (tree.get(p.pid)?.cmd ?? '') });
  }, 50);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => {
      clearInterval(watch);
      r({ code, signal });
    }),
  );
  const count = (pattern: RegExp) => [...tree.values()].filter((p) => pattern.test(p.cmd)).length;
  /** Its Redis pair and its ringpool node are up (or coming up): the suite is in the middle of its run. */
  const allStarted = () => count(/^redis-server (?!--version)/) === 2 && count(/ringpool\.mjs start/) === 1;
  return { child, exited, tree, allStarted, dir: () => /files in (\S+)/.exec(out)?.[1], output: () => `${out}\n${err}` };
}

async function expectAllGone(tree: readonly SeenProcess[], dir: string | undefined): Promise<void> {
  expect(dir, 'the suite named its directory').toBeDefined();
  // The runner's last act is a synchronous SIGKILL of what is left; the kernel may take a moment.
  const left = await until('its processes to end', 5_000, () => {
    const alive = tree.filter(stillRunning);
    return alive.length === 0 ? alive : undefined;
  }, 100).catch(() => tree.filter(stillRunning));
  expect(left.map((p) => `${p.pid} ${commandLineOf(p.pid)}`)).toEqual([]);
  expect(existsSync(dir as string), `${dir} removed`).toBe(false);
}

describe('bench runner cleanup', () => {
  it('SIGTERM or SIGINT mid-run: no redis-server or node it started survives, its directory is removed', async () => {
    // Both at once: two runs side by side cost the wall time of one.
    await Promise.all(
      ([['SIGTERM', 143], ['SIGINT', 130]] as const).map(async ([signal, code]) => {
        const bench = await startIdleBench([]);
        await until('the suite to start its processes', 60_000, () => (bench.allStarted() ? true : undefined), 100).catch((err: Error) => {
          throw new Error(`${err.message}; seen: ${[...bench.tree.values()].map((p) => p.cmd.slice(0, 80)).join(' | ')}\n${bench.output()}`);
        });
        bench.child.kill(signal);
        const exit = await bench.exited;
        expect(exit.code, `${signal}: ${bench.output()}`).toBe(code);
        await expectAllGone([...bench.tree.values()], bench.dir());
      }),
    );
  }, 90_000);

  it('its time limit (--timeout-s) ends the run the same way, exit 124', async () => {
    // Long enough for the suite to start its Redis pair at least on a loaded machine; it measures for 60 s.
    const bench = await startIdleBench(['--timeout-s', '5']);
    const exit = await bench.exited;
    expect(exit.code, bench.output()).toBe(124);
    expect(bench.tree.size, 'processes started before the limit').toBeGreaterThanOrEqual(2);
    await expectAllGone([...bench.tree.values()], bench.dir());
  }, 90_000);
});

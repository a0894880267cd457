// `npm run bench -- idle [--seconds 20] [--settle-seconds 20] [--cpu-prof DIR]`: the CPU a full node
// (scheduler + api + worker, what `npm start` runs) and the processes it started burn with nothing
// to do, from /proc/<pid>/stat, beside a bare Node process holding as many connections to the same
// Redis and doing nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { tcpClientAddresses } from '../test/helpers/processes.js';
import { descendantsOf, stillRunning } from './cleanup.js';
import { BENCH_JOBS, numberFlag, startTrackedRedis, stringFlag } from './harness.js';
import { printTable, type BenchSuite } from './report.js';

const BIN = fileURLToPath(new URL('../bin/ringpool.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system) the process has used so far, ms. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}

/**
 * CPU time its live descendants have used so far, ms, by pid: what the process started costs too
 * (from the repo, tsx's esbuild services: docs/performance.md, "Round two"), and /proc/<pid>/stat
 * counts a child only once it has exited and been waited for.
 */
function descendantsCpuMs(pid: number): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const p of descendantsOf(pid).filter(stillRunning)) {
    try {
      cpu.set(p.pid, cpuMsOf(p.pid));
    } catch {
      // exited meanwhile
    }
  }
  return cpu;
}

/** The CPU the descendants alive at both ends of a window used in it, ms. */
function descendantsCpuMsBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let ms = 0;
  for (const [pid, end] of after) ms += end - (before.get(pid) ?? end);
  return ms;
}

/** Resolves with the first match of `pattern` on the child's stdout; rejects if it exits first. */
function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms: ${out}`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before printing ${pattern}: ${out}`)));
  });
}

/** Total commands the Redis at `url` has processed (INFO stats). */
async function commandsProcessed(client: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))?.[1] ?? NaN);
}

/** A bare Node process holding `connections` ioredis connections to `url`, doing nothing else. */
function startBareBaseline(url: string, connections: number): ChildProcess {
  const script = `import { Redis } from 'ioredis';
const cs = Array.from({ length: ${connections} }, () => new Redis(${JSON.stringify(url)}));
await Promise.all(cs.map((c) => c.ping()));
console.log('connected');
setInterval(() => {}, 1 << 30);`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return exited.finally(() => clearTimeout(timer));
}

const suite: BenchSuite = async (args) => {
  const seconds = numberFlag(args, 'seconds', 20);
  // Long enough after the start that the window measures idling, not the start's JIT and
  // collections (3 s measured those: docs/performance.md, Round two).
  const settleSeconds = numberFlag(args, 'settle-seconds', 20);
  const cpuProfDir = stringFlag(args, 'cpu-prof', '');
  const { redis, dir, stop: stopRedis } = await startTrackedRedis('idle');
  console.log(`idle: Redis pair and node files in ${dir}`);
  const children: ChildProcess[] = [];
  try {
    const flags = ['start', '--redis', redis.masterUrl, '--min-replicas', '1', '--port', '0', '--data-dir', join(dir, 'node'), '--jobs', BENCH_JOBS, '--log-level', 'warn'];
    const prof = cpuProfDir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir];
    const node = spawn(process.execPath, [...prof, BIN, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(node);
    await waitForOutput(node, /running at (http:\S+)/);
    // Up and elected; what it does from here on is its idle work.
    await new Promise((r) => setTimeout(r, settleSeconds * 1000));
    const masterPort = Number(new URL(redis.masterUrl).port);
    const connections = tcpClientAddresses(node.pid as number, masterPort).length;
    const bare = startBareBaseline(redis.masterUrl, connections);
    children.push(bare);
    await waitForOutput(bare, /connected/);
    await new Promise((r) => setTimeout(r, 1000));

    const client = new Redis(redis.masterUrl);
    const commands0 = await commandsProcessed(client);
    const [node0, children0, bare0, t0] = [cpuMsOf(node.pid as number), descendantsCpuMs(node.pid as number), cpuMsOf(bare.pid as number), performance.now()];
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const [node1, children1, bare1, t1] = [cpuMsOf(node.pid as number), descendantsCpuMs(node.pid as number), cpuMsOf(bare.pid as number), performance.now()];
    // Our own INFO calls (two) are not the node's.
    const commands1 = (await commandsProcessed(client)) - 2;
    client.disconnect();
    const elapsedS = (t1 - t0) / 1000;
    const childrenMs = descendantsCpuMsBetween(children0, children1);
    const figures = {
      // The node's process and what it started (a process it started but does not wait for is not in its own figure).
      idleCpuMsPerSec: Number(((node1 - node0 + childrenMs) / elapsedS).toFixed(2)),
      nodeProcessCpuMsPerSec: Number(((node1 - node0) / elapsedS).toFixed(2)),
      childProcesses: children1.size,
      bareCpuMsPerSec: Number(((bare1 - bare0) / elapsedS).toFixed(2)),
      idleRedisCommandsPerSec: Number(((commands1 - commands0) / elapsedS).toFixed(1)),
      redisConnections: connections,
      seconds: Number(elapsedS.toFixed(1)),
    };
    printTable(`idle: a full node (scheduler + api + worker) and what it started, with nothing to do, ${figures.seconds} s (target ≤ 5 ms CPU/s)`, [
      ['', 'CPU ms/s', 'Redis commands/s'],
      ['ringpool start', figures.idleCpuMsPerSec, figures.idleRedisCommandsPerSec],
      [`  its process alone (${figures.childProcesses} child processes)`, figures.nodeProcessCpuMsPerSec, ''],
      [`bare node, ${connections} Redis connections`, figures.bareCpuMsPerSec, 0],
    ]);
    return figures;
  } finally {
    await Promise.all(children.map(stop));
    await stopRedis();
  }
};

export default suite;

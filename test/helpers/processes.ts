// Spawns real ringpool processes for the end-to-end tests and makes sure none outlives its test.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/ringpool.mjs', import.meta.url));
const started = new Set<ChildProcess>();

export interface Spawned {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout has matched `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function spawnRingpool(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      started.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(pattern);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before printing ${pattern}\nstdout: ${out}\nstderr: ${err.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Runs `node` with `args` to its end: its exit code and what it printed. */
export async function runNode(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, stdout, stderr };
}

/** SIGKILLs every process a test started and did not see exit. */
export function killAllSpawned(): void {
  for (const child of started) child.kill('SIGKILL');
}

/**
 * The client addresses (`127.0.0.1:port`, as Redis's CLIENT LIST shows them) of a live process's
 * TCP connections to `remotePort` (Linux /proc): to know, once it has died, when the server has
 * read all it sent (those connections are gone from CLIENT LIST).
 */
export function tcpClientAddresses(pid: number, remotePort: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode !== undefined) inodes.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  const addresses: string[] = [];
  for (const row of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    const [local, remote, inode] = [f[1], f[2], f[9]];
    if (local === undefined || remote === undefined || inode === undefined || !inodes.has(inode)) continue;
    if (parseInt(remote.split(':')[1] ?? '', 16) !== remotePort) continue;
    addresses.push(`127.0.0.1:${parseInt(local.split(':')[1] ?? '', 16)}`);
  }
  return addresses;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Whether a pid is still the process the manifest names, and stopping processes with SIGTERM then SIGKILL.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { ClusterProcess, ClusterRole } from './manifest.js';

/**
 * Stop order: the supervisor first (else it would restart what is being stopped), then nothing
 * that others depend on goes before them (Redis last, the master very last).
 */
const STOP_ORDER: readonly ClusterRole[] = ['supervisor', 'api', 'worker', 'scheduler', 'sentinel', 'redis-replica', 'redis-master'];

export interface StopOutcome {
  readonly role: ClusterRole;
  readonly id: string;
  readonly pid: number;
  /** stopped: exited on SIGTERM; killed: needed SIGKILL; gone: was not running; not-ours: the pid now belongs to another program (left alone); stuck: survived SIGKILL. */
  readonly outcome: 'stopped' | 'killed' | 'gone' | 'not-ours' | 'stuck';
}

// ---- is this pid still the process we started? ---------------------------------------------

/** The command line of `pid` with NULs as spaces; undefined when no such process (or a zombie). */
function commandLineOf(pid: number): string | undefined {
  if (existsSync('/proc/self/cmdline')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The state follows the parenthesised name: a zombie has exited, only its entry remains.
      if (/\)\s+Z\s/.test(stat)) return undefined;
      const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim();
      return text === '' ? undefined : text;
    } catch {
      return undefined;
    }
  }
  // No /proc (macOS, BSD): ask ps.
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'stat=,command='], { encoding: 'utf8' });
  const line = ps.status === 0 ? ps.stdout.trim() : '';
  if (line === '' || line.startsWith('Z')) return undefined;
  return line.replace(/^\S+\s+/, '');
}

type Ownership = 'ours' | 'gone' | 'not-ours';

export function ownership(proc: ClusterProcess): Ownership {
  const cmdline = commandLineOf(proc.pid);
  if (cmdline === undefined) return 'gone';
  return new RegExp(proc.match).test(cmdline) ? 'ours' : 'not-ours';
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---- stopping --------------------------------------------------------------------------------

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntilGone(proc: ClusterProcess, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (ownership(proc) !== 'ours') return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

function signal(proc: ClusterProcess, sig: NodeJS.Signals): void {
  // Checked right before each signal: a pid recycled since the manifest was written is left alone.
  if (ownership(proc) !== 'ours') return;
  try {
    process.kill(proc.pid, sig);
  } catch {
    // exited in between
  }
}

async function stopOne(proc: ClusterProcess, graceMs: number): Promise<StopOutcome> {
  const base = { role: proc.role, id: proc.id, pid: proc.pid };
  const owned = ownership(proc);
  if (owned !== 'ours') return { ...base, outcome: owned };
  // A paused process (SIGSTOP in a test, a debugger) cannot act on SIGTERM until continued.
  signal(proc, 'SIGCONT');
  signal(proc, 'SIGTERM');
  if (await waitUntilGone(proc, graceMs)) return { ...base, outcome: 'stopped' };
  signal(proc, 'SIGKILL');
  return { ...base, outcome: (await waitUntilGone(proc, 5_000)) ? 'killed' : 'stuck' };
}

/** Stops the processes phase by phase (api, workers, schedulers, sentinels, replicas, master). */
export async function stopProcesses(processes: readonly ClusterProcess[], graceMs: number): Promise<StopOutcome[]> {
  const outcomes: StopOutcome[] = [];
  for (const role of STOP_ORDER) {
    const phase = processes.filter((p) => p.role === role);
    outcomes.push(...(await Promise.all(phase.map((p) => stopOne(p, graceMs)))));
  }
  return outcomes;
}

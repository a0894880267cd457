// `ringpool cluster down`: stop exactly the processes the manifest lists, the supervisor first; and a synchronous kill for exit handlers.
import { readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_DIR, manifestPath, readManifest, SECRETS } from './manifest.js';
import { ownership, stopProcesses, type StopOutcome } from './processes.js';

export interface ClusterDownOptions {
  /** SIGTERM → SIGKILL grace, per stop phase. @default 10000 */
  readonly graceMs?: number;
  /** Also delete the data (Redis AOF, Raft write-ahead files), logs and secrets. @default false */
  readonly purge?: boolean;
}

const DEFAULTS = Object.freeze({ graceMs: 10_000 });

/**
 * Stops exactly the processes `cluster.json` lists (each checked against its command line before
 * every signal), the supervisor first and then the others as the manifest names them once it is
 * gone (restarted ones included), then removes the manifest and pid files. Data and logs stay unless `purge`.
 * Resolves with what happened to each; undefined when `dir` has no manifest.
 */
export async function clusterDown(dir: string = DEFAULT_DIR, options: ClusterDownOptions = {}): Promise<StopOutcome[] | undefined> {
  const root = resolve(dir);
  const graceMs = options.graceMs ?? DEFAULTS.graceMs;
  const before = readManifest(root);
  let manifest = before;
  let outcomes: StopOutcome[] | undefined;
  if (before !== undefined) {
    outcomes = await stopProcesses(before.processes.filter((p) => p.role === 'supervisor'), graceMs);
    // It may have restarted a process since `before` was read: once it is gone the manifest is final.
    manifest = readManifest(root) ?? before;
    outcomes.push(...(await stopProcesses(manifest.processes.filter((p) => p.role !== 'supervisor'), graceMs)));
  }
  if (outcomes?.some((o) => o.outcome === 'stuck')) return outcomes; // keep the manifest: something still runs
  for (const p of manifest?.processes ?? []) rmSync(p.pidFile, { force: true });
  rmSync(manifestPath(root), { force: true });
  if (options.purge) {
    for (const sub of ['data', 'redis', 'logs', 'pids', SECRETS]) rmSync(join(root, sub), { recursive: true, force: true });
    try {
      if (readdirSync(root).length === 0) rmdirSync(root);
    } catch {
      // not ours to remove, or already gone
    }
  }
  return outcomes;
}

/**
 * SIGKILLs, synchronously, every process of the manifest that is still ours, the supervisor and
 * those it restarted first: for an `exit` handler of a test or bench that must not leave a cluster
 * behind. Leaves the manifest in place; returns how many of its processes were running.
 */
export function killClusterNow(dir: string = DEFAULT_DIR): number {
  const kill = (target: number) => {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // exited in between
    }
  };
  const before = (readManifest(dir)?.processes ?? []).filter((p) => ownership(p) === 'ours');
  const running = new Set(before.map((p) => p.pid));
  // The supervisor first, with its process group: that holds the processes it restarted, even one
  // spawned a moment ago and not in the manifest yet (it is the group's leader: started detached).
  for (const p of before) if (p.role === 'supervisor') kill(-p.pid);
  // Read again: the supervisor may have written a restarted pid before it died.
  for (const p of readManifest(dir)?.processes ?? []) {
    if (p.role === 'supervisor' || ownership(p) !== 'ours') continue;
    running.add(p.pid);
    kill(p.pid);
  }
  return running.size;
}

// Leaves nothing behind: every process the bench runner started (at any depth) and every temporary
// directory a suite made are stopped and removed on every exit path (done, error, signal, timeout).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A process seen in the tree: its pid and its start time, so a pid reused meanwhile is not killed. */
export interface SeenProcess {
  readonly pid: number;
  readonly startTime: string;
}

const tempDirs = new Set<string>();
/** Every descendant ever seen by `snapshotDescendants`: an orphan (its parent killed) is no longer in the tree. */
const seen = new Map<number, SeenProcess>();

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]; undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time (field 22 of /proc/<pid>/stat), undefined once the process is gone. */
function startTimeOf(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** The live descendants of `root` (children, their children, ...), from /proc. */
export function descendantsOf(root: number): SeenProcess[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const fields = statFields(pid);
    if (fields === undefined) continue;
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: SeenProcess[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const startTime = startTimeOf(pid);
    if (startTime === undefined) continue;
    out.push({ pid, startTime });
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Records this process's descendants now, so they are killed at the end even if orphaned by then. */
export function snapshotDescendants(): void {
  for (const p of descendantsOf(process.pid)) seen.set(p.pid, p);
}

/** SIGKILLs every descendant seen (still the same process) and every live one. Synchronous: safe in an 'exit' handler. */
export function killDescendants(): number {
  snapshotDescendants();
  let killed = 0;
  for (const p of seen.values()) {
    if (startTimeOf(p.pid) !== p.startTime) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  seen.clear();
  return killed;
}

/** A new temporary directory `ringpool-<name>-XXXXXX`, removed by `removeTempDirs` at the end of the run. */
export function benchTempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ringpool-${name}-`));
  tempDirs.add(dir);
  return dir;
}

/** Removes a directory made by `benchTempDir` now (a suite done with it). */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Removes every directory `benchTempDir` made and not yet removed. Synchronous. */
export function removeTempDirs(): void {
  for (const dir of tempDirs) removeTempDir(dir);
}

/** True while the process seen is still running (not gone, not a zombie, not a new process under its pid). */
export function stillRunning(p: SeenProcess): boolean {
  const fields = statFields(p.pid);
  return fields !== undefined && fields[0] !== 'Z' && fields[19] === p.startTime;
}

/** The command line of a live process, '' once it is gone. */
export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

// Deployed job modules on a node's disk: each version's bundle written once, by digest, where threads load it from.
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RingpoolError } from '../errors.js';
import { BUNDLE_SUFFIX } from './deployed-loader.js';
import type { JobTypeStore, JobTypeVersion } from '../store/job-type-store.js';

/**
 * The folder deployed modules are written to: inside ringpool's own package folder, so that a
 * bundle's `require('zod')` and `require('ringpool/sdk')` resolve to ringpool's copies by Node's
 * own rules (node_modules above it, and the package's self-reference by name).
 */
export function moduleFolder(): string {
  return fileURLToPath(new URL('../../.ringpool-modules/', import.meta.url));
}

/** The file a version's bundle is kept in: the same digest is the same file for every process of the host. */
export function moduleFile(dir: string, name: string, digest: string): string {
  return join(dir, `${name}-${digest.slice(0, 16)}${BUNDLE_SUFFIX}`);
}

/**
 * Writes the code of `version` of `name` to its file unless it is there already (written to a
 * temporary name and renamed: another process of the host may be writing the same file).
 * NOT_FOUND when the version is not stored (deleted, or never deployed).
 */
export async function materialize(store: Pick<JobTypeStore, 'code'>, dir: string, name: string, version: Pick<JobTypeVersion, 'version' | 'digest'>): Promise<string> {
  const file = moduleFile(dir, name, version.digest);
  if (inUseIfThere(file)) return file;
  const code = await store.code(name, version.digest);
  if (code === undefined) throw new RingpoolError('NOT_FOUND', `version ${version.version} of job type ${name} is no longer stored`);
  return writeOnce(file, code);
}

/**
 * Writes `code` to `file` unless it is there already: to a temporary name, then renamed (another
 * process of the host may be writing the same file). The file's name says its content (a digest).
 */
export function writeOnce(file: string, code: string): string {
  if (inUseIfThere(file)) return file;
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(temp, code);
  renameSync(temp, file);
  return inUse(file);
}

/**
 * Files of the folder this process uses, kept fresh: their modification time is "now" when first
 * used and again every TOUCH_EVERY_MS, so the sweep (sweepModuleFolder) of any process of the host
 * never takes a file a live process's threads may load again (a thread restarted after a crash, a
 * timeout or an idle spell reads its entry again).
 */
const used = new Set<string>();
let toucher: NodeJS.Timeout | undefined;
const TOUCH_EVERY_MS = 60 * 60 * 1000;

/** A file unused for this long is swept; kept far above TOUCH_EVERY_MS so that a busy host's late touch is not a removal. */
export const SWEEP_AFTER_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Whether `file` is there, marked used first: a sweep that reads its time after the touch keeps it
 * (what is left is a sweep that read the old time just before, microseconds, of a file no process
 * had used for a week).
 */
function inUseIfThere(file: string): boolean {
  touch(file);
  if (!existsSync(file)) return false;
  keepFresh(file);
  return true;
}

function inUse(file: string): string {
  touch(file);
  keepFresh(file);
  return file;
}

function keepFresh(file: string): void {
  used.add(file);
  // One wake-up an hour, off the idle grid: unref'd, it never keeps a process alive.
  toucher ??= setInterval(() => used.forEach(touch), TOUCH_EVERY_MS).unref();
}

function touch(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // Gone (removed by hand): the next writeOnce writes it again.
  }
}

/**
 * Removes what no process of the host has used for SWEEP_AFTER_MS: bundles of versions deployed
 * and replaced, modules compiled from sources since edited, ringpool's own thread bundles of
 * earlier releases, and temporary files of writes that died half way. Every file is named by its
 * content, so a file swept and needed later is written again. Returns how many were removed;
 * best effort (a file another process removes first is not an error).
 */
export function sweepModuleFolder(dir: string = moduleFolder(), now: number = Date.now()): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0; // no folder yet
  }
  let removed = 0;
  for (const name of names) {
    const file = join(dir, name);
    if (used.has(file)) continue;
    try {
      const stat = statSync(file);
      if (!stat.isFile() || now - stat.mtimeMs < SWEEP_AFTER_MS) continue;
      unlinkSync(file);
      removed += 1;
    } catch {
      // Removed meanwhile by another process's sweep, or not ours to remove.
    }
  }
  return removed;
}

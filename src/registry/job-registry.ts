// Finds and loads job modules from folders: a job name is looked up here, never turned into a path.
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { RingpoolError } from '../errors.js';
import type { AnyJob } from '../sdk/index.js';
import { importModule } from './import-module.js';

export interface LoadedJob {
  readonly name: string;
  readonly module: AnyJob;
  /** Absolute file path: what a worker thread imports. */
  readonly path: string;
}


export interface JobRegistry {
  get(name: string): LoadedJob | undefined;
  list(): readonly LoadedJob[];
}

/**
 * The job modules of a folder: its .ts, .mts, .js and .mjs files, but not helpers (a name starting
 * with `_`), hidden files, declarations (`.d.ts`) and tests (`.test.ts`, `.spec.ts`); subfolders
 * are not searched. Job modules may import the rest.
 */
const MODULE_FILE = /\.(ts|mts|js|mjs)$/;
const NOT_A_JOB = /^[_.]|\.(test|spec|d)\.[mc]?[jt]s$/;
/** The rule above, as the error for a file it takes as a job module that exports none says it. */
const HELPER_RULE = 'helper files start with `_` or live in a subfolder';

/** Loads every job module directly inside each folder; later folders may not reuse a name. */
export async function loadJobRegistry(dirs: readonly string[]): Promise<JobRegistry> {
  const byName = new Map<string, LoadedJob>();
  for (const dir of dirs) {
    const root = realpathOrThrow(dir);
    for (const file of readdirSync(root).sort()) {
      if (!MODULE_FILE.test(file) || NOT_A_JOB.test(file)) continue;
      let path: string;
      try {
        path = realpathSync(join(root, file));
      } catch {
        continue; // a dangling symlink: nothing to load
      }
      // A symlink that leads out of the folder is not loaded: only the named folder's code runs.
      if (!path.startsWith(root + sep) || !statSync(path).isFile()) continue;
      const loaded = await loadModule(path);
      const taken = byName.get(loaded.name);
      if (taken !== undefined) {
        throw new RingpoolError('CONFIG', `job name "${loaded.name}" is defined twice: ${taken.path} and ${path}`);
      }
      byName.set(loaded.name, loaded);
    }
  }
  const list = Object.freeze([...byName.values()].sort((a, b) => a.name.localeCompare(b.name)));
  return Object.freeze({ get: (name: string) => byName.get(name), list: () => list });
}

async function loadModule(path: string): Promise<LoadedJob> {
  const imported = await importModule(path);
  if (missingJobParts(imported.default).length > 0) {
    throw new RingpoolError('CONFIG', `${path} must export default defineJob({ name, input, split, run, reduce }); ${HELPER_RULE}`);
  }
  const module = imported.default as AnyJob;
  return Object.freeze({ name: module.name, module, path });
}

/**
 * What a module's default export lacks to be a job (none: it is one): `name`, `split`, `run`,
 * `reduce`, `input (a zod schema)`, in that order. Folders' modules and deployed ones alike.
 */
export function missingJobParts(exported: unknown): string[] {
  const job = (typeof exported === 'object' && exported !== null ? exported : {}) as Record<string, unknown>;
  const missing = typeof job.name === 'string' ? [] : ['name'];
  for (const fn of ['split', 'run', 'reduce']) if (typeof job[fn] !== 'function') missing.push(fn);
  if (typeof (job.input as { safeParse?: unknown } | undefined)?.safeParse !== 'function') missing.push('input (a zod schema)');
  return missing;
}

function realpathOrThrow(dir: string): string {
  try {
    const real = realpathSync(resolve(dir));
    if (!statSync(real).isDirectory()) throw new Error('not a directory');
    return real;
  } catch {
    throw new RingpoolError('CONFIG', `jobs folder ${JSON.stringify(dir)} does not exist or is not a directory`);
  }
}

// Job modules as a worker thread loads them: once per thread, then served from memory.
import type { AnyJob } from '../sdk/index.js';
import { BUNDLE_SUFFIX } from './deployed-loader.js';
import { importModule } from './import-module.js';

/** Cached by path: a module's first load compiles it; later batches of its jobs find it here. */
const modules = new Map<string, Promise<AnyJob>>();

/**
 * Deployed versions a thread keeps loaded. A folder's modules are few and fixed; deployed ones
 * grow with every deploy, so the least recently used is let go (collected once no task holds it)
 * and loaded again if a job of it still comes.
 */
export const DEPLOYED_PER_THREAD = 8;

/** The job module at `path` (from the registry, never from user input). */
export function loadJobModule(path: string): Promise<AnyJob> {
  let job = modules.get(path);
  if (job === undefined) {
    job = importModule(path).then((m) => m.default as AnyJob);
    job.catch(() => modules.delete(path)); // one that failed to load is tried again next time
  } else {
    modules.delete(path); // re-inserted below: the Map's order is the order of last use
  }
  modules.set(path, job);
  if (path.endsWith(BUNDLE_SUFFIX)) evictDeployed();
  return job;
}

function evictDeployed(): void {
  const deployed = [...modules.keys()].filter((p) => p.endsWith(BUNDLE_SUFFIX));
  for (const path of deployed.slice(0, Math.max(0, deployed.length - DEPLOYED_PER_THREAD))) modules.delete(path);
}

/** How many modules this thread holds (tests). */
export function loadedModuleCount(): number {
  return modules.size;
}

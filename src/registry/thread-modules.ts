// Job modules as a worker thread loads them: once per thread, then served from memory.
import type { AnyJob } from '../sdk/index.js';
import { importModule } from './import-module.js';

/** Cached by path: a module's first load compiles it; later batches of its jobs find it here. */
const modules = new Map<string, Promise<AnyJob>>();

/** The job module at `path` (from the registry, never from user input). */
export function loadJobModule(path: string): Promise<AnyJob> {
  let job = modules.get(path);
  if (job === undefined) {
    job = importModule(path).then((m) => m.default as AnyJob);
    job.catch(() => modules.delete(path)); // one that failed to load is tried again next time
    modules.set(path, job);
  }
  return job;
}

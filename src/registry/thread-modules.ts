// Job modules as a worker thread loads them: imported once per thread, then served from memory.
import { pathToFileURL } from 'node:url';
import type { AnyJob } from '../sdk/index.js';

/**
 * Cached by path: an `import()` of a module already loaded still asks the TypeScript loader's
 * hooks (a round trip to the loader's own thread) to resolve it, on every call.
 */
const modules = new Map<string, Promise<AnyJob>>();

/** The job module at `path` (from the registry, never from user input). */
export function loadJobModule(path: string): Promise<AnyJob> {
  let job = modules.get(path);
  if (job === undefined) {
    job = import(pathToFileURL(path).href).then((m: { default: AnyJob }) => m.default);
    job.catch(() => modules.delete(path)); // one that failed to load is tried again next time
    modules.set(path, job);
  }
  return job;
}

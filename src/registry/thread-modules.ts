// Job modules as a worker thread loads them: imported once per thread, then served from memory.
import { pathToFileURL } from 'node:url';
import type { AnyJob } from '../sdk/index.js';

/**
 * Cached by path: an `import()` of a module already loaded still asks the TypeScript loader's
 * hooks (a round trip to the loader's own thread) to resolve it, on every call.
 */
const modules = new Map<string, Promise<AnyJob>>();

/** The TypeScript loader in this thread: registered once, and only for a job module that is not prebuilt (thread-code.ts). */
let typeScript: Promise<void> | undefined;

/** For a thread entry that registered the loader itself (`*-entry.mjs`, when our runner could not be prebuilt). */
export function typeScriptLoaderRegistered(): void {
  typeScript = Promise.resolve();
}

/** The job module at `path` (from the registry, never from user input). */
export function loadJobModule(path: string): Promise<AnyJob> {
  let job = modules.get(path);
  if (job === undefined) {
    if (/\.m?ts$/.test(path)) typeScript ??= import('tsx/esm/api').then(({ register }) => void register());
    job = (typeScript ?? Promise.resolve())
      .then(() => import(pathToFileURL(path).href))
      .then((m: { default: AnyJob }) => m.default);
    job.catch(() => modules.delete(path)); // one that failed to load is tried again next time
    modules.set(path, job);
  }
  return job;
}

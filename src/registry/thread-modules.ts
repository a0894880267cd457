// Job modules as a worker thread loads them: once per thread, then served from memory.
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
    job = importModule(path).then((m) => m.default);
    job.catch(() => modules.delete(path)); // one that failed to load is tried again next time
    modules.set(path, job);
  }
  return job;
}

type JobExports = { default: AnyJob };

/**
 * A thread's code runs as CommonJS (the thread entries load it through tsx's CommonJS hook, so
 * `require` exists here): a job module is required the same way, compiled in this thread. One
 * that CommonJS cannot hold (top-level await) is imported as ESM, through tsx's ESM hook, which
 * starts a loader thread, registered on the first such module only. Elsewhere (the main thread,
 * tests) `require` is not defined and the module is imported.
 */
async function importModule(path: string): Promise<JobExports> {
  if (typeof require === 'function') {
    try {
      return require(path) as JobExports;
    } catch (err) {
      if (!ESM_ONLY.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
    esmHook ??= import('tsx/esm/api').then(({ register }) => void register());
    await esmHook;
  }
  return (await import(pathToFileURL(path).href)) as JobExports;
}

/** What `require` throws for a module only ESM can load. */
const ESM_ONLY = new Set(['ERR_REQUIRE_ASYNC_MODULE', 'ERR_REQUIRE_ESM']);
let esmHook: Promise<void> | undefined;

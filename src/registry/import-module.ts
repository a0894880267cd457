// How ringpool's code loads TypeScript at run time: job modules, and a role's modules.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** Whether ringpool's code in this thread was loaded through tsx's CommonJS hook. */
let commonJs = false;

/**
 * Called by ringpool's own entries (bin/ringpool.mjs, src/worker/thread-entry.cjs,
 * src/scheduler/reduce-entry.cjs) once they have registered tsx's CommonJS hook and before they
 * load the rest of ringpool's code through it, compiled in the thread that loads it. tsx's ESM
 * hook would give every thread a loader thread of its own under Node 20 (~20 MB each).
 */
export function loadedAsCommonJs(): void {
  commonJs = true;
}

/**
 * A `require` for the module at `url`, where ringpool's code runs as CommonJS: there Node's
 * `import()` would not pass through the CommonJS hook and could not read TypeScript. Undefined
 * where the code was loaded as ESM (tests, the benches, which may have tsx's CommonJS hook too):
 * `import()` is the way there, so that no module is loaded twice, once in each form.
 */
export function typeScriptRequire(url: string): NodeJS.Require | undefined {
  return commonJs ? createRequire(url) : undefined;
}

/**
 * A job module, required where the CommonJS hook is in place. One that CommonJS cannot hold
 * (top-level await) is imported as ESM through tsx's ESM hook, registered on the first such
 * module only.
 */
export async function importModule(path: string): Promise<{ default?: unknown }> {
  const require = typeScriptRequire(import.meta.url);
  if (require !== undefined) {
    try {
      return require(path) as { default?: unknown };
    } catch (err) {
      if (!ESM_ONLY.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
    esmHook ??= import('tsx/esm/api').then(({ register }) => void register());
    await esmHook;
  }
  return (await import(pathToFileURL(path).href)) as { default?: unknown };
}

/** What `require` throws for a module only ESM can load. */
const ESM_ONLY = new Set(['ERR_REQUIRE_ASYNC_MODULE', 'ERR_REQUIRE_ESM']);
let esmHook: Promise<void> | undefined;

// How ringpool's code loads TypeScript at run time: job modules, and a role's modules.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * A `require` that loads TypeScript, for the module at `url`, where this thread has tsx's CommonJS
 * hook: ringpool's own entries (bin/ringpool.mjs, src/worker/thread-entry.cjs,
 * src/scheduler/reduce-entry.cjs) register it and load ringpool's code through it, compiled in
 * the thread that loads it. tsx's ESM hook would give every thread a loader thread of its own
 * under Node 20 (~20 MB each), and Node's `import()` does not pass through the CommonJS hook.
 * Undefined where the code was loaded as ESM (tests, the benches): `import()` is the way there.
 */
export function typeScriptRequire(url: string): NodeJS.Require | undefined {
  const require = createRequire(url);
  return '.ts' in require.extensions ? require : undefined;
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

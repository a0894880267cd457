// How ringpool's code loads TypeScript at run time: job modules, and in the repo its own modules.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BUNDLE_SUFFIX, COMPILED_SUFFIX, loadBundle } from './deployed-loader.js';
import { fallBackToOwnCopies, registerOwnCopiesHook } from './own-copies.js';
import { stopTsxCompiler } from './tsx-compiler.js';

/** Whether ringpool's code in this thread was loaded as CommonJS. */
let commonJs = false;
/** Whether this thread's entry registered tsx's CommonJS hook. */
let tsxRegistered = false;

/**
 * Called by ringpool's own entries (bin/ringpool.mjs, src/worker/thread-entry.cjs,
 * src/scheduler/reduce-entry.cjs) before they load the rest of ringpool's code as CommonJS: in the
 * package the compiled JavaScript of dist/ (scripts/build.ts); in the repo, for bin/ringpool.mjs,
 * the TypeScript sources through tsx's CommonJS hook, which it registers (`withTsx`), and for the
 * threads a bundle of them made once per process (thread-code.ts). tsx's ESM hook would give every
 * thread a loader thread of its own under Node 20 (~20 MB each).
 */
export function loadedAsCommonJs(withTsx = false): void {
  commonJs = true;
  tsxRegistered = withTsx;
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
 * A job module, required where ringpool runs as CommonJS, through tsx's CommonJS hook: a module
 * needs no build step, and its `ringpool/…` and `zod` imports fall back to ringpool's copies
 * (own-copies.ts). One that CommonJS cannot hold (top-level await) is imported as ESM through
 * tsx's ESM hook, registered on the first such module only. Where ringpool's code is ESM (its
 * tests, the benches) `import()` resolves as the test runner or `--conditions=ringpool-source` say.
 */
export async function importModule(path: string): Promise<{ default?: unknown }> {
  if (path.endsWith(BUNDLE_SUFFIX)) return loadBundle(path);
  // Compiled for the threads (thread-code.ts): plain CommonJS, whatever form ringpool's own code
  // has, with a source map so a task's error stack names the module's own files (as under tsx).
  if (path.endsWith(COMPILED_SUFFIX)) {
    process.setSourceMapsEnabled(true);
    return createRequire(import.meta.url)(path) as { default?: unknown };
  }
  const require = typeScriptRequire(import.meta.url);
  if (require !== undefined) {
    prepareJobLoading(require);
    try {
      return require(path) as { default?: unknown };
    } catch (err) {
      if (!ESM_ONLY.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    } finally {
      // Loaded: tsx's compiler, if this module needed it, is stopped (tsx-compiler.ts).
      stopTsxCompiler();
    }
    esmHook ??= import('tsx/esm/api').then(({ register }) => {
      register();
      registerOwnCopiesHook();
    });
    await esmHook;
  }
  return (await import(pathToFileURL(path).href)) as { default?: unknown };
}

let prepared = false;

/**
 * Once per thread, before its first job module not compiled for the threads (thread-code.ts).
 * Where the entry registered no tsx (the package; the repo's threads, which run a bundle), the
 * CommonJS hook is registered here, for the job modules (tsx compiles TypeScript and ESM files
 * only; ringpool's CommonJS goes to Node unchanged).
 */
function prepareJobLoading(require: NodeJS.Require): void {
  if (prepared) return;
  prepared = true;
  if (!tsxRegistered) (require('tsx/cjs/api') as typeof import('tsx/cjs/api')).register();
  fallBackToOwnCopies();
}

/** What `require` throws for a module only ESM can load. */
const ESM_ONLY = new Set(['ERR_REQUIRE_ASYNC_MODULE', 'ERR_REQUIRE_ESM']);
let esmHook: Promise<void> | undefined;

/**
 * The Node options for ringpool's threads (task and reduce pools): the process's own, without
 * those a thread refuses (V8's, refusedByThreads; the heap sizes, HEAP_SIZE, in every spelling)
 * and those that register tsx (`node --import tsx`, the tsx CLI's
 * `--require …/tsx/dist/preflight.cjs` and `--import …/tsx/dist/loader.mjs`), which a worker
 * thread would otherwise inherit. The threads load plain JavaScript (thread-code.ts) and register
 * tsx's CommonJS hook only for a job module not compiled for them; an inherited ESM hook gave each thread a loader thread of its own and, measured on the
 * `speedup` bench in a process started with `--import tsx`, made the job's code in the threads
 * use 5–9 % more CPU than the same code in raw piscina's threads (ringpool's processes, started
 * by bin/ringpool.mjs, carry no such flag).
 */
export function threadExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const inherited = withoutHeapSizesAndTsx(execArgv);
  const refused = refusedByThreads(inherited);
  if (refused.size === 0) return inherited;
  const kept: string[] = [];
  for (let i = 0; i < inherited.length; i++) {
    const arg = inherited[i] as string;
    if (!refused.has(arg)) kept.push(arg);
    else if (!arg.includes('=') && /^[^-]/.test(inherited[i + 1] ?? '-')) i++; // `--title name`: its value too
  }
  return kept;
}

/**
 * The options of `execArgv` a thread refuses (ERR_WORKER_INVALID_EXEC_ARGV): V8's (`--expose-gc`,
 * `--stack-trace-limit=50`, `--no-parallel-scavenge`) and the whole process's, which would stop
 * every thread from starting. Node names them in its error; asked once per set of options, of a
 * Worker started with only those that register no hook (so the probe runs no preload), and
 * stopped at once. Where the message cannot be read, none are dropped (as before).
 */
function refusedByThreads(execArgv: readonly string[]): ReadonlySet<string> {
  const plain: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (HOOK_FLAGS.has(arg)) i++; // and its module
    else if (!HOOK_FLAGS.has(arg.slice(0, arg.indexOf('=')))) plain.push(arg);
  }
  if (plain.length === 0) return NONE;
  const key = plain.join('\0');
  let refused = refusedCache.get(key);
  if (refused === undefined) {
    refused = NONE;
    try {
      const probe = new Worker('', { eval: true, execArgv: plain, stdout: true, stderr: true });
      probe.on('error', () => {});
      void probe.terminate();
    } catch (err) {
      const listed = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? /flags: (.+)$/.exec((err as Error).message)?.[1] : undefined;
      if (listed !== undefined) refused = new Set(listed.split(', '));
    }
    refusedCache.set(key, refused);
  }
  return refused;
}

const NONE: ReadonlySet<string> = new Set();
const refusedCache = new Map<string, ReadonlySet<string>>();

/** threadExecArgv's first step: the process's options without V8's heap sizes and tsx's hooks. */
function withoutHeapSizesAndTsx(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    if (HEAP_SIZE.test(flag)) {
      if (eq < 0 && /^\d/.test(execArgv[i + 1] ?? '')) i++; // `--max-old-space-size 300`
      continue;
    }
    if (!HOOK_FLAGS.has(flag)) {
      kept.push(arg);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : execArgv[i + 1];
    if (value !== undefined && TSX.test(value)) {
      if (eq < 0) i++; // the value was the next argument
      continue;
    }
    kept.push(arg);
  }
  return kept;
}

/**
 * V8's heap options (`node --max-old-space-size=… --max-semi-space-size=… --heap-growing-percent=…`):
 * a thread refuses them (ERR_WORKER_INVALID_EXEC_ARGV, V8 options are the process's) and takes its
 * sizes from `resourceLimits` instead, so the process's own would stop every thread from starting.
 * The growth percent, a process-wide V8 flag, still applies to the threads' heaps.
 */
const HEAP_SIZE = /^--(max|min)[-_](old|semi|young)[-_](space|generation)[-_]size$|^--(max|initial)[-_]heap[-_]size$|^--heap[-_]growing[-_]percent$/;

/** The V8 heap options on a Node command line (`--max-semi-space-size=4`, `--max-old-space-size 300`), each as one `--name=value`. */
export function v8HeapOptions(execArgv: readonly string[] = process.execArgv): string[] {
  const found: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    const eq = arg.indexOf('=');
    if (!HEAP_SIZE.test(eq >= 0 ? arg.slice(0, eq) : arg)) continue;
    if (eq >= 0) found.push(arg);
    else if (/^\d/.test(execArgv[i + 1] ?? '')) found.push(`${arg}=${execArgv[++i] as string}`);
    else found.push(arg);
  }
  return found;
}
/** Node options that register a module hook, with the module as their value. */
const HOOK_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
/** tsx by name (`tsx`, `tsx/esm`, `tsx/cjs`) or by a path inside its package. */
const TSX = /^tsx(\/|$)|[\\/]node_modules[\\/]tsx[\\/]/;

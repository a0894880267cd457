// A job module's imports of `ringpool/…` and `zod` that its folder cannot resolve go to ringpool's own copies.
import Module, { register } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** What ringpool lends a job module whose folder has none of its own (docs/architecture.md §7). */
const OWN_PACKAGES = /^(ringpool|zod)(\/|$)/;
/** ringpool's package folder: this file is in src/registry/ (the repo) or dist/registry/ (the package). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** A build's output, which ringpool running from its sources never lends (a stale copy). */
const DIST = join(ROOT, 'dist') + sep;

type ResolveFilename = (this: unknown, request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
/** The parts of Node's CommonJS loader the fallback wraps: the one hook CommonJS has for resolution. */
interface CommonJsLoader {
  _resolveFilename: ResolveFilename;
  _nodeModulePaths(dir: string): string[];
}

let installed = false;

/**
 * In this thread, `require('zod')` or `require('ringpool/sdk')` from a job module resolves as Node
 * resolves it (the folder's own node_modules first), and only when that finds nothing, as if
 * required from ringpool's own package. Node's module hooks (`module.register`) do not see
 * `require` under Node 20, and would start a loader thread per worker thread; this wrapper of the
 * CommonJS resolver, as tsx's own CommonJS hook does, costs a test of the specifier per `require`.
 */
export function fallBackToOwnCopies(): void {
  if (installed) return;
  installed = true;
  const loader = Module as unknown as CommonJsLoader;
  const next = loader._resolveFilename;
  const ownParent = Object.assign(new Module(join(ROOT, 'package.json')), { filename: join(ROOT, 'package.json'), paths: loader._nodeModulePaths(ROOT) });
  loader._resolveFilename = function (request, parent, isMain, options) {
    if (!OWN_PACKAGES.test(request)) return next.call(this, request, parent, isMain, options);
    let found: string;
    try {
      found = next.call(this, request, parent, isMain, options);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      try {
        return ownCopy(request) ?? next.call(this, request, ownParent, false);
      } catch {
        throw err; // ringpool has none either: the module's own error says what is missing
      }
    }
    return FROM_SOURCE && found.startsWith(DIST) ? (ownCopy(request) ?? found) : found;
  };
}

/**
 * Running from the sources, ringpool's copy of `ringpool/<entry>` is the TypeScript the entry's
 * `ringpool-source` condition names in package.json (the package's `exports` name dist/ files a
 * repo has not built). Undefined otherwise: Node's own resolution from ringpool's folder finds it.
 */
function ownCopy(request: string): string | undefined {
  if (!FROM_SOURCE || !request.startsWith('ringpool')) return undefined;
  const entry = (sourceExports ??= readExports())[`.${request.slice('ringpool'.length)}`];
  const target = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)['ringpool-source'] : undefined;
  return typeof target === 'string' ? join(ROOT, target) : undefined;
}

let sourceExports: Record<string, unknown> | undefined;
function readExports(): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> }).exports ?? {};
}

/**
 * The same rule for job modules loaded as ESM (those with top-level await), as a `module.register`
 * resolve hook: registered with tsx's ESM hook, whose loader thread it shares.
 */
export function registerOwnCopiesHook(): void {
  register(new URL('./own-copies-hook.mjs', import.meta.url), {
    data: { parentURL: pathToFileURL(join(ROOT, 'package.json')).href, distURL: pathToFileURL(DIST).href, fromSource: FROM_SOURCE },
  });
}

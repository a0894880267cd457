// Job modules and thread runners as plain JavaScript, so a worker thread runs without a TypeScript loader.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

/**
 * Why: under Node 20 a thread that registers tsx gets a loader thread of its own, and the two
 * cost ~30 MB of RSS per task thread (measured: a 2-thread pool 143 MB with tsx, 83 MB with the
 * same code prebuilt). So each TypeScript file a thread would import is bundled once per process
 * start with esbuild (its own relative imports inlined, packages left as imports), into the
 * project's `node_modules/.cache/ringpool/`, named by content hash (processes starting side by
 * side write the same file; a process still running an older build keeps its own).
 *
 * Package imports of the bundle resolve from the cache folder, which is inside this project: a
 * job module whose packages would resolve elsewhere (a jobs folder with node_modules of its own)
 * keeps its TypeScript path, and the thread registers tsx for it (see thread-modules.ts).
 */
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/ringpool/', import.meta.url));

const built = new Map<string, string>();

/**
 * What a worker thread imports for the job module at `path`: its prebuilt JavaScript, or the
 * module itself (already JavaScript, or not prebuilt: see above). Built on first use.
 */
export function jobModuleForThreads(path: string): string {
  let forThreads = built.get(path);
  if (forThreads === undefined) {
    forThreads = /\.m?ts$/.test(path) ? (prebuild(path) ?? path) : path;
    built.set(path, forThreads);
  }
  return forThreads;
}

/**
 * A thread pool's entry (file URL): the TypeScript module `source` prebuilt, with `exportName`
 * as its default export; `fallback` (an entry that registers tsx) if it cannot be.
 */
export function threadEntry(source: URL, exportName: string, fallback: URL): string {
  const key = `${source.href}#${exportName}`;
  let entry = built.get(key);
  if (entry === undefined) {
    const path = prebuild(fileURLToPath(source), exportName);
    entry = path === undefined ? fallback.href : pathToFileURL(path).href;
    built.set(key, entry);
  }
  return entry;
}

/** A TypeScript file as a prebuilt `.mjs` whose default export is `exportName` (or the module's own default); undefined if it cannot be. */
function prebuild(sourcePath: string, exportName?: string): string | undefined {
  try {
    // The entry's `import.meta` stays its source file's (a job module may read data next to
    // itself); bundled, it would be the bundle's. A bundle in which `import.meta` is still read
    // (by another of its files) is not made: esbuild's synchronous API takes no plugin that could
    // rewrite each file's.
    const contents =
      exportName === undefined
        ? readFileSync(sourcePath, 'utf8')
            .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(sourcePath).href))
            .replaceAll('import.meta.filename', JSON.stringify(sourcePath))
            .replaceAll('import.meta.dirname', JSON.stringify(dirname(sourcePath)))
        : `export { ${exportName} as default } from ${JSON.stringify(sourcePath)};`;
    const result = buildSync({
      // Named as the module it is (a runner's entry only re-exports from it, under another name).
      stdin: { contents, sourcefile: exportName === undefined ? sourcePath : `${sourcePath}.${exportName}.ts`, resolveDir: dirname(sourcePath), loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]?.contents;
    if (code === undefined || code.length === 0 || Buffer.from(code).includes('import.meta')) return undefined;
    const name = `${basename(sourcePath).replace(/\.m?ts$/, '')}${exportName === undefined ? '' : `.${exportName}`}-${createHash('sha256').update(sourcePath).update(code).digest('hex').slice(0, 16)}.mjs`;
    const out = join(CACHE, name);
    const packages = Object.values(result.metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path));
    if (!resolvesAlike(packages, sourcePath, out)) return undefined;
    mkdirSync(CACHE, { recursive: true });
    if (!sameFile(out, code)) {
      const temp = `${out}.${process.pid}.tmp`;
      writeFileSync(temp, code);
      renameSync(temp, out); // atomic: a thread never imports half a file
    }
    return out;
  } catch {
    return undefined; // no esbuild, a cache that cannot be written, a module esbuild cannot bundle: the TypeScript path
  }
}

/**
 * Whether every package the bundle imports is found in the same folder from the bundle as from
 * its source (Node looks up `node_modules` folders from the importing file's location up).
 */
function resolvesAlike(packages: readonly string[], sourcePath: string, bundlePath: string): boolean {
  const fromSource = createRequire(sourcePath);
  const fromBundle = createRequire(bundlePath);
  for (const spec of new Set(packages)) {
    if (packageFolder(fromSource, spec) !== packageFolder(fromBundle, spec)) return false;
  }
  return true;
}

/** The folder of the package `spec` names, as seen from a file (`require` given that file); undefined if none. */
function packageFolder(require: NodeJS.Require, spec: string): string | undefined {
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
  for (const folder of require.resolve.paths(name) ?? []) {
    if (existsSync(join(folder, name, 'package.json'))) return join(folder, name);
  }
  return undefined;
}

function sameFile(path: string, code: Uint8Array): boolean {
  try {
    return Buffer.compare(readFileSync(path), code) === 0;
  } catch {
    return false;
  }
}

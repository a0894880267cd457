// What ringpool's threads load, compiled once per node with esbuild: its own thread code in the repo, and the folders' job modules.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, buildSync, type Metafile, type Plugin } from 'esbuild';
import { OWN_SDK, SERVER_PACKAGES } from './deploy-bundle.js';
import { BUNDLE_SUFFIX, COMPILED_SUFFIX } from './deployed-loader.js';
import { moduleFolder, writeOnce } from './deployed-modules.js';
import { compiling, stopTsxCompiler } from './tsx-compiler.js';

const REGISTRY = dirname(fileURLToPath(import.meta.url));
/** Running the repo's TypeScript: ringpool's own thread code is bundled (threadEntry). */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** ringpool's package folder. */
const ROOT = join(REGISTRY, '..', '..');
/** ringpool's package.json: where `zod` resolves for a job module whose folder has none (own-copies.ts). */
const OWN_PACKAGE_JSON = join(ROOT, 'package.json');

const ownBundles = new Map<string, string>();

/**
 * The file a thread of ringpool's starts from, for its entry `entry` (a `.cjs` beside the code it
 * loads). From the package: the entry itself, which requires the compiled JavaScript of dist/. In
 * the repo: the entry and the TypeScript it requires bundled into one CommonJS file, once per
 * process (esbuild, in a few ms), so a thread loads plain JavaScript: no tsx hook nor compile in
 * each thread, ~13 MB less per thread (docs/architecture.md §7, "What the threads load"). Its packages stay
 * `require`s, resolved from ringpool's folder, where the bundle is written (moduleFolder).
 */
export function threadEntry(entry: URL): string {
  const path = fileURLToPath(entry);
  if (!FROM_SOURCE) return path;
  let bundle = ownBundles.get(path);
  if (bundle === undefined) {
    bundle = bundleOwnCode(path);
    ownBundles.set(path, bundle);
  }
  return bundle;
}

function bundleOwnCode(entry: string): string {
  const out = buildSync({
    entryPoints: [entry],
    bundle: true,
    packages: 'external',
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    absWorkingDir: ROOT,
    logLevel: 'silent',
    // One URL for the whole bundle: only this folder's files read `import.meta.url` (checked below).
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(REGISTRY, 'import-module.ts')).href) },
  });
  stopTsxCompiler(); // done with esbuild's service for now (tsx-compiler.ts)
  const [reader] = readersOfImportMeta(out.metafile, ROOT, (file) => dirname(file) === REGISTRY);
  if (reader !== undefined) throw new Error(`${relative(ROOT, reader)} reads import.meta, which the bundle of ${relative(ROOT, entry)} gives only the files of src/registry/`);
  const code = out.outputFiles[0]?.text ?? '';
  return writeOnce(join(moduleFolder(), `${basename(entry, '.cjs')}-${digestOf(code)}.cjs`), code);
}

const compiledModules = new Map<string, Promise<string>>();

/**
 * The file a thread loads for the job module at `path`: a deployed bundle as it is; a folder's
 * module compiled once per process into one CommonJS file (its own files and `ringpool/sdk`
 * bundled, its packages required where its folder resolves them), so the threads need no tsx; its
 * `import.meta.url` is its own file's. A module esbuild cannot turn into CommonJS as it is
 * (top-level await, `import.meta` read by a file it imports, an import that does not resolve) is
 * loaded from `path` as before (import-module.ts). The file is named by its content and made from
 * the module as this process first ran it, the version its main thread loaded at start
 * (job-registry.ts).
 */
export function threadModule(path: string): Promise<string> {
  if (path.endsWith(BUNDLE_SUFFIX)) return Promise.resolve(path);
  let compiled = compiledModules.get(path);
  if (compiled === undefined) {
    compiled = compileJobModule(path).catch(() => path);
    compiledModules.set(path, compiled);
  }
  return compiled;
}

async function compileJobModule(path: string): Promise<string> {
  const out = await compiling(() => build({
    entryPoints: [path],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    absWorkingDir: dirname(path),
    logLevel: 'silent',
    legalComments: 'none',
    // The module's own URL; a file it imports that reads `import.meta` would get the same (checked below).
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(path).href) },
    // A task's error keeps its stack in the module's own files and lines (import-module.ts enables
    // source maps in the thread, as tsx did), without their text.
    sourcemap: 'inline',
    sourcesContent: false,
    sourceRoot: `${pathToFileURL(dirname(path)).href}/`, // the map's paths are the folder's, not the compiled file's
    plugins: [packagesFromTheFolder],
  }));
  // A warning is code that would run differently here (another `import.meta` property left empty, …).
  if (out.warnings.length > 0 || readersOfImportMeta(out.metafile, dirname(path), (file) => file === path).length > 0) return path;
  const code = out.outputFiles[0]?.text ?? '';
  return writeOnce(join(moduleFolder(), `${basename(path).replace(/\.[mc]?[jt]s$/, '')}-${digestOf(code)}${COMPILED_SUFFIX}`), code);
}

/**
 * `ringpool/sdk` is bundled from ringpool's own copy, as for a deployed module (deploy-bundle.ts).
 * Any other package the module imports stays a `require`, of the file Node resolves from the importing
 * file's folder (`zod`, if the folder has none, from ringpool's: own-copies.ts), written as an
 * absolute path since the compiled file lies elsewhere. An ES module package is bundled instead:
 * `require` cannot load it under Node 20 (tsx's hook compiled it).
 */
const packagesFromTheFolder: Plugin = {
  name: 'packages-from-the-folder',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.path === 'ringpool/sdk') return { path: OWN_SDK }; // as a deployed module has it (deploy-bundle.ts)
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      const file = resolvePackage(args.path, args.importer);
      return isCommonJs(file) ? { path: file, external: true } : { path: file };
    });
  },
};

function resolvePackage(specifier: string, importer: string): string {
  try {
    return createRequire(importer).resolve(specifier);
  } catch (err) {
    if (!SERVER_PACKAGES.includes(specifier)) throw err;
    return createRequire(OWN_PACKAGE_JSON).resolve(specifier);
  }
}

/** Whether `require` loads `file` (a `.mjs`, or a `.js` whose package says `"type": "module"`, it cannot). */
function isCommonJs(file: string): boolean {
  if (!file.endsWith('.js')) return !file.endsWith('.mjs');
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: string }).type !== 'module';
    } catch {
      if (dirname(dir) === dir || basename(dir) === 'node_modules') return true;
    }
  }
}

/** The files of a build, but those `allowed`, whose text reads `import.meta` (the metafile's paths are relative to `cwd`). */
function readersOfImportMeta(metafile: Metafile, cwd: string, allowed: (file: string) => boolean): string[] {
  return Object.keys(metafile.inputs)
    .map((input) => resolve(cwd, input))
    .filter((file) => !allowed(file) && readFileSync(file, 'utf8').includes('import.meta'));
}

function digestOf(code: string): string {
  return createHash('sha256').update(code).digest('hex').slice(0, 16);
}

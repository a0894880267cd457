// The package's build (`npm run build`, run by `prepack`): src/ → dist/ as CommonJS, how the repo runs it too.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform, type TransformOptions } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');

/**
 * Each TypeScript file is compiled on its own, as tsx's CommonJS hook compiles it when the repo
 * runs (src/registry/import-module.ts: why CommonJS), so the package runs the same code the tests
 * ran. `import.meta.url` is the file's own URL, computed where the file lies once installed.
 */
const OPTIONS: TransformOptions = {
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  loader: 'ts',
  tsconfigRaw: { compilerOptions: JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')).compilerOptions },
};
const META_URL = '__ringpoolImportMetaUrl';
/** Declared right after the strict-mode directive, which only counts as the file's first statement. */
const META_DECLARATION = `const ${META_URL} = require('node:url').pathToFileURL(__filename).href;\n`;
const STRICT = '"use strict";\n';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

async function compile(file: string): Promise<void> {
  const source = readFileSync(file, 'utf8');
  const usesMeta = source.includes('import.meta');
  const out = await transform(source, {
    ...OPTIONS,
    sourcefile: relative(ROOT, file),
    ...(usesMeta ? { define: { 'import.meta.url': META_URL } } : {}),
  });
  // Any warning (another `import.meta` property, a top-level await, …) is code that would break here.
  if (out.warnings.length > 0) throw new Error(`${relative(ROOT, file)}: ${out.warnings.map((w) => w.text).join('; ')}`);
  if (!out.code.startsWith(STRICT)) throw new Error(`${relative(ROOT, file)}: esbuild's output does not start with ${STRICT.trim()}`);
  const code = usesMeta ? STRICT + META_DECLARATION + out.code.slice(STRICT.length) : out.code;
  const target = join(DIST, relative(SRC, file)).replace(/\.ts$/, '.js');
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, code);
}

/** dist/: every .ts of src/ compiled (declarations come from `tsc -p tsconfig.build.json`), every other file copied. */
async function build(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  const files = filesUnder(SRC);
  await Promise.all(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map(compile));
  for (const file of files.filter((f) => !f.endsWith('.ts'))) cpSync(file, join(DIST, relative(SRC, file)));
  // The root package is ESM ("type": "module"); the compiled files are CommonJS.
  writeFileSync(join(DIST, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
}

if (process.argv.includes('--clean')) rmSync(DIST, { recursive: true, force: true });
else await build();

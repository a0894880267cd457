// A job module's source made into one deployable file: its relative imports and packages bundled in, zod and ringpool left to the server.
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import { RingpoolError } from '../errors.js';

/**
 * Left to the server's own copy, never bundled: the module's schema must be a zod of the server's
 * (it is read and turned into JSON Schema there). zod loads with a plain `require` everywhere.
 */
export const SERVER_PACKAGES: readonly string[] = Object.freeze(['zod', 'zod/v4']);

/**
 * `ringpool/sdk` is bundled from ringpool's own copy, whatever the module's folder holds: it is
 * small and pure (defineJob's checks), and a bundle that requires nothing of ringpool's loads the
 * same in a task thread, a test process and an installed package, with no loader hook.
 */
export const OWN_SDK = ownSdk();

function ownSdk(): string {
  const ts = fileURLToPath(new URL('../sdk/index.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../sdk/index.js', import.meta.url));
}

export interface BundleSource {
  /** The module's text (TypeScript or JavaScript). */
  readonly source: string;
  /** Its file name, for messages and the loader (`.ts`, `.mts`, `.js`, `.mjs`). */
  readonly filename: string;
  /**
   * Where its relative imports and packages are read from: the CLI bundles from the module's
   * folder; the server, which has no folder of the user's, passes none and any such import fails.
   */
  readonly resolveDir?: string;
}

/**
 * One CommonJS file (what ringpool's threads load without a loader thread: see import-module.ts)
 * with everything but SERVER_PACKAGES and Node's built-ins bundled. Errors are BAD_INPUT naming
 * the file, line and column, and what to do.
 */
export async function bundleJobModule(input: BundleSource): Promise<string> {
  const loader = /\.m?js$/.test(input.filename) ? 'js' : 'ts';
  try {
    const out = await build({
      stdin: { contents: input.source, sourcefile: input.filename, loader, ...(input.resolveDir === undefined ? {} : { resolveDir: input.resolveDir }) },
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      external: [...SERVER_PACKAGES],
      alias: { 'ringpool/sdk': OWN_SDK },
      logLevel: 'silent',
      legalComments: 'none',
      // No folder of the user's on the server: nothing may be read from the server's disk.
      ...(input.resolveDir === undefined ? { plugins: [refuseFilesystem] } : {}),
    });
    return out.outputFiles[0]?.text ?? '';
  } catch (err) {
    throw new RingpoolError('BAD_INPUT', describeBuildFailure(err, input.filename));
  }
}

/** The bundler's first errors as one message: `file:line:col: text`, with a hint for the common ones. */
function describeBuildFailure(err: unknown, filename: string): string {
  const errors = ((err as { errors?: Message[] }).errors ?? []).slice(0, 3);
  if (errors.length === 0) return `${filename}: ${(err as Error).message}`;
  return errors.map((m) => `${where(m, filename)}: ${m.text}${hint(m.text)}`).join('; ');
}

function where(m: Message, filename: string): string {
  if (m.location === null) return filename;
  // The module itself by the name it was given; a file it imports by its path.
  const file = m.location.file === '' || basename(m.location.file) === filename ? filename : m.location.file;
  return `${file}:${m.location.line}:${m.location.column + 1}`;
}

function hint(text: string): string {
  if (/Top-level await/.test(text)) return ' (a deployed module may not use top-level await: do the work in split or run)';
  if (/Could not resolve/.test(text)) return ' (deploy with `ringpool deploy FILE`, which bundles the module\'s relative imports and the packages its folder installs)';
  return '';
}

/** Whether an import is ringpool's or zod's, a Node built-in, or one of the sdk's own files: all a module uploaded alone may import. */
function providedByServer(path: string, importer: string): boolean {
  const root = path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : (path.split('/')[0] as string);
  if (SERVER_PACKAGES.includes(path) || path === 'ringpool/sdk' || path.startsWith('node:') || builtinModules.includes(root)) return true;
  return importer.startsWith(dirname(OWN_SDK));
}

/** On the server: an import that is neither a server package nor a built-in cannot be read (nothing comes from the server's disk). */
const refuseFilesystem: Plugin = {
  name: 'refuse-filesystem',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point' || providedByServer(args.path, args.importer)) return undefined;
      return { errors: [{ text: `Could not resolve "${args.path}": the server has only the module's own text` }] };
    });
  },
};

// Loads a deployed bundle with the process's own zod: the bundle's `require('zod')` is answered with the very module ringpool's code uses.
import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';
import * as zod from 'zod';

/** The file suffix of a deployed bundle (deployed-modules.ts writes them; deploy-check too). */
export const BUNDLE_SUFFIX = '.deployed.cjs';
/** The file suffix of a folder's job module compiled for the threads (thread-code.ts): plain CommonJS, required as it is. */
export const COMPILED_SUFFIX = '.compiled.cjs';

/**
 * Runs the CommonJS bundle at `path` and returns its exports. A plain `require` of it would give
 * it zod's CommonJS build while ringpool's code (ESM in an installed package and in tests) holds
 * the ESM one: two zods, and a schema of one cannot be read by the other (JSON Schema, parsing
 * into the other's types). So its `require` is ours: zod is the one this code imports, a Node
 * built-in is Node's, anything else was bundled and is refused.
 */
export function loadBundle(path: string): { default?: unknown } {
  const code = readFileSync(path, 'utf8');
  const nodeRequire = createRequire(path);
  const require = (id: string): unknown => {
    if (id === 'zod' || id === 'zod/v4') return zod;
    const root = id.startsWith('node:') ? id.slice(5) : id.split('/')[0];
    if (builtinModules.includes(root as string)) return nodeRequire(id);
    throw new Error(`a deployed module may require only zod and Node's built-ins, not ${JSON.stringify(id)} (it should have been bundled)`);
  };
  const module = { exports: {} as Record<string, unknown> };
  const run = compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: path });
  run(module.exports, require, module, path, dirname(path));
  const exported = module.exports as { default?: unknown; __esModule?: boolean };
  return exported.__esModule === true ? exported : { default: exported };
}

// Deployed job modules on a node's disk: each version's bundle written once, by digest, where threads load it from.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RingpoolError } from '../errors.js';
import { BUNDLE_SUFFIX } from './deployed-loader.js';
import type { JobTypeStore, JobTypeVersion } from '../store/job-type-store.js';

/**
 * The folder deployed modules are written to: inside ringpool's own package folder, so that a
 * bundle's `require('zod')` and `require('ringpool/sdk')` resolve to ringpool's copies by Node's
 * own rules (node_modules above it, and the package's self-reference by name).
 */
export function moduleFolder(): string {
  return fileURLToPath(new URL('../../.ringpool-modules/', import.meta.url));
}

/** The file a version's bundle is kept in: the same digest is the same file for every process of the host. */
export function moduleFile(dir: string, name: string, digest: string): string {
  return join(dir, `${name}-${digest.slice(0, 16)}${BUNDLE_SUFFIX}`);
}

/**
 * Writes the code of `version` of `name` to its file unless it is there already (written to a
 * temporary name and renamed: another process of the host may be writing the same file).
 * NOT_FOUND when the version is not stored (deleted, or never deployed).
 */
export async function materialize(store: Pick<JobTypeStore, 'code'>, dir: string, name: string, version: Pick<JobTypeVersion, 'version' | 'digest'>): Promise<string> {
  const file = moduleFile(dir, name, version.digest);
  if (existsSync(file)) return file;
  const code = await store.code(name, version.digest);
  if (code === undefined) throw new RingpoolError('NOT_FOUND', `version ${version.version} of job type ${name} is no longer stored`);
  return writeOnce(file, code);
}

/**
 * Writes `code` to `file` unless it is there already: to a temporary name, then renamed (another
 * process of the host may be writing the same file). The file's name says its content (a digest).
 */
export function writeOnce(file: string, code: string): string {
  if (existsSync(file)) return file;
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(temp, code);
  renameSync(temp, file);
  return file;
}

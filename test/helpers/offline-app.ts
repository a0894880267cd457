// An app folder that installs the packed tarball with no network: its lockfile is the repo's, cut down to ringpool's runtime tree.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface LockEntry {
  readonly dev?: boolean;
  readonly link?: boolean;
  readonly [field: string]: unknown;
}

/**
 * Writes `app/package.json` (ringpool from `tarball`, and zod) and a `package-lock.json` that pins
 * every other package to what the repo's own lockfile resolved, so `npm ci --offline` takes them
 * from the npm cache the repo's `npm ci` filled. `npm i <tarball> zod --offline` cannot work on a
 * fresh machine: it resolves version ranges from registry documents, which `npm ci` never caches.
 */
export function writeOfflineApp(repo: string, tarball: string, app: string): void {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string>; bin: unknown; engines: unknown };
  const dependencies = { ringpool: `file:${tarball}`, zod: pkg.dependencies.zod as string };
  const packages: Record<string, unknown> = { '': { name: 'app', dependencies } };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev === true || entry.link === true) continue;
    const { devOptional: _d, peer: _p, ...kept } = entry;
    packages[path] = kept;
  }
  packages['node_modules/ringpool'] = { version: pkg.version, resolved: `file:${tarball}`, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines };
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, dependencies }, null, 2)}\n`);
  writeFileSync(join(app, 'package-lock.json'), `${JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
}

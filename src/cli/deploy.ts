// `ringpool deploy FILE`, `ringpool versions NAME`, `ringpool activate NAME VERSION`: job modules deployed to a running cluster, through ringpool/client.
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { RingpoolClient } from '../client/index.js';
import { RingpoolError } from '../errors.js';
import { bundleJobModule } from '../registry/deploy-bundle.js';

/**
 * Bundles FILE with its relative imports and the packages its folder installs (zod and
 * ringpool/sdk are the server's), uploads it, and says which version new jobs now run.
 */
export async function deployFile(client: RingpoolClient, file: string | undefined): Promise<number> {
  if (file === undefined) throw new RingpoolError('CONFIG', 'name the module to deploy: ringpool deploy ./jobs/my-job.ts');
  const path = resolve(file);
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RingpoolError('CONFIG', `cannot read ${file}: ${(err as Error).message}`);
  }
  const bundled = await bundleJobModule({ source, filename: basename(path), resolveDir: dirname(path) });
  const answer = await client.deployments.deploy({ source: bundled, filename: `${basename(path).replace(/\.[mc]?[jt]s$/, '')}.js` });
  const digest = answer.digest === null ? '' : ` (sha256 ${answer.digest.slice(0, 12)})`;
  console.log(answer.created
    ? `deployed ${answer.name} version ${answer.version}${digest}: new ${answer.name} jobs run it; jobs in flight keep theirs`
    : `${answer.name} version ${answer.version}${digest} is active with this code already: nothing deployed`);
  return 0;
}

/** Prints a deployed type's versions, newest first, the active one marked. */
export async function listVersions(client: RingpoolClient, name: string | undefined): Promise<number> {
  if (name === undefined) throw new RingpoolError('CONFIG', 'name the job type: ringpool versions <name>');
  const { versions } = await client.deployments.versions(name);
  for (const v of [...versions].reverse()) {
    console.log(`${v.active ? '*' : ' '} v${String(v.version).padEnd(4)} ${v.digest.slice(0, 12)}  ${new Date(v.deployedAt).toISOString()}  ${v.deployedBy}  ${v.bytes} bytes`);
  }
  return 0;
}

/** Makes VERSION of NAME the active one (a rollback, or forward again). */
export async function activateVersion(client: RingpoolClient, name: string | undefined, version: string | undefined): Promise<number> {
  const n = Number(version);
  if (name === undefined || !Number.isInteger(n) || n < 1) throw new RingpoolError('CONFIG', `give the job type and a version number: ringpool activate <name> <version>${version === undefined ? '' : ` (got ${JSON.stringify(version)})`}`);
  const answer = await client.deployments.activate(name, n);
  console.log(`${answer.name}: version ${answer.active} is active${answer.before === null ? '' : ` (was ${answer.before})`}; new jobs run it`);
  return 0;
}

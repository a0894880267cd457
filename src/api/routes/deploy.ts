// Job types deployed at runtime: upload a module (checked, then stored as a new version), list versions, activate one (rollback), delete one.
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { z } from 'zod';
import { RingpoolError } from '../../errors.js';
import { bundleJobModule } from '../../registry/deploy-bundle.js';
import { JOB_TYPE_NAME, checkJobModule } from '../../registry/deploy-check.js';
import type { JobResolver } from '../../registry/live-registry.js';
import type { JobStore } from '../../store/job-store.js';
import { principalOf } from '../auth.js';
import { describeIssues } from '../errors.js';
import { readJson } from '../json-body.js';
import { DeployBodySchema } from '../wire.js';

export interface DeployDeps {
  readonly store: Pick<JobStore, 'jobTypes'>;
  /** Served job types: a deployed one may not take a folder's name; refreshed after a change so this node serves it at once. */
  readonly registry: Pick<JobResolver, 'get' | 'refresh'>;
  /** Where modules are written for their check. */
  readonly moduleDir: string;
  /** Largest module source accepted, bytes. */
  readonly maxModuleBytes: number;
  /** Where the audit line of each change goes. */
  readonly logger?: Logger | undefined;
}

const VersionParams = z.object({ name: z.string().regex(JOB_TYPE_NAME), version: z.coerce.number().int().min(1) });

/**
 * Mounted at /v1/job-types. Every route here but the GET needs the `admin` scope (auth.ts: a
 * non-GET route not listed in SUBMIT_ROUTES): deploying is running code on the cluster.
 */
export function deployRoutes(deps: DeployDeps): Hono {
  const { store, registry } = deps;
  const app = new Hono();
  app.post('/', async (c) => {
    const body = DeployBodySchema.safeParse(await readJson(c, 8, deps.maxModuleBytes * 2 + 4096));
    if (!body.success) throw new RingpoolError('BAD_INPUT', describeIssues(body.error.issues, ''));
    const { source, filename } = body.data;
    if (Buffer.byteLength(source, 'utf8') > deps.maxModuleBytes) {
      throw new RingpoolError('PAYLOAD_TOO_LARGE', `the module is larger than the limit of ${deps.maxModuleBytes} bytes (--max-module-bytes)`);
    }
    const code = await bundleJobModule({ source, filename });
    const info = await checkJobModule(code, { dir: deps.moduleDir });
    if (registry.get(info.name)?.source === 'folder') {
      throw new RingpoolError('CONFLICT', `job type ${info.name} comes from a --jobs folder on this node; a deployed job type needs a name of its own`);
    }
    const by = principalOf(c).id;
    const outcome = await store.jobTypes.deploy(info.name, code, { deployedBy: by, description: info.description, resultType: info.resultType });
    deps.logger?.info({ audit: 'deploy', jobType: info.name, version: outcome.version, created: outcome.created, by, bytes: code.length }, 'job type deployed');
    await registry.refresh();
    const version = (await store.jobTypes.versions(info.name)).find((v) => v.version === outcome.version);
    return c.json({ name: info.name, version: outcome.version, created: outcome.created, digest: version?.digest ?? null, inputSchema: info.inputSchema }, outcome.created ? 201 : 200);
  });

  app.get('/:name/versions', async (c) => {
    const name = c.req.param('name');
    const versions = JOB_TYPE_NAME.test(name) ? await store.jobTypes.versions(name) : [];
    if (versions.length === 0) throw new RingpoolError('NOT_FOUND', `no deployed job type ${JSON.stringify(name.slice(0, 80))}; see GET /v1/job-types`);
    const active = (await store.jobTypes.active()).get(name) ?? null;
    return c.json({ name, active, versions: versions.map((v) => ({ ...v, active: v.version === active })) });
  });

  app.post('/:name/versions/:version/activate', async (c) => {
    const { name, version } = versionParams(c.req.param());
    const before = await store.jobTypes.activate(name, version);
    deps.logger?.info({ audit: 'activate', jobType: name, version, before, by: principalOf(c).id }, 'job type version activated');
    await registry.refresh();
    return c.json({ name, active: version, before: before === 0 ? null : before });
  });

  app.delete('/:name/versions/:version', async (c) => {
    const { name, version } = versionParams(c.req.param());
    await store.jobTypes.deleteVersion(name, version);
    deps.logger?.info({ audit: 'delete-version', jobType: name, version, by: principalOf(c).id }, 'job type version deleted');
    return c.json({ name, version, deleted: true });
  });
  return app;
}

function versionParams(params: Record<string, string>): { name: string; version: number } {
  const parsed = VersionParams.safeParse(params);
  if (!parsed.success) throw new RingpoolError('BAD_INPUT', describeIssues(parsed.error.issues, 'path'));
  return parsed.data;
}

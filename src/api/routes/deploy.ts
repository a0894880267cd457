// Job types deployed at runtime: upload a module (checked, then stored as a new version), list versions, activate one (rollback), delete one.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import type { Logger } from 'pino';
import { z } from 'zod';
import { RingpoolError } from '../../errors.js';
import { bundleJobModule } from '../../registry/deploy-bundle.js';
import { JOB_TYPE_NAME, checkJobModule } from '../../registry/deploy-check.js';
import type { JobResolver } from '../../registry/live-registry.js';
import type { JobStore } from '../../store/job-store.js';
import { codeDigest } from '../../store/job-type-store.js';
import { principalOf } from '../auth.js';
import { describeIssues } from '../errors.js';
import { readJson } from '../json-body.js';
import { BODY_REFUSED, createRoute, errorAnswers, json, REDIS_DOWN, routeApp, serveRoute } from '../route-spec.js';
import { ActivateAnswerSchema, DeleteVersionAnswerSchema, DeployAnswerSchema, DeployBodySchema, JobTypeVersionsSchema } from '../wire.js';

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

const NameParams = z.object({ name: z.string().describe('a deployed job type, as GET /v1/job-types lists it') });
const VersionParams = z.object({
  name: z.string().regex(JOB_TYPE_NAME).describe('a deployed job type, as GET /v1/job-types lists it'),
  version: z.coerce.number().int().min(1).describe('a version number, as GET /v1/job-types/{name}/versions lists it'),
});
const NO_SUCH_VERSION = 'no such deployed job type or version (NOT_FOUND)';

const deployJobType = createRoute({
  operationId: 'deployJobType',
  method: 'post',
  path: '/',
  tags: ['job types'],
  summary: 'deploy a job module as a new active version',
  description:
    'The module is bundled (it may import only zod, ringpool/sdk and Node built-ins: `ringpool deploy FILE` bundles its relative imports and packages first), ' +
    'loaded and checked in a thread of its own, then stored content-addressed and replicated, and served by every node within about a second. ' +
    'New jobs run it; a job keeps the version it was submitted to. Nothing is stored on a 4xx. Each change is logged as an audit line.',
  request: { body: { required: true, content: { 'application/json': { schema: DeployBodySchema } } } },
  responses: {
    200: json('the active version has this code already: nothing stored', DeployAnswerSchema),
    201: json('stored as a new version, now active', DeployAnswerSchema),
    ...errorAnswers({
      400: 'the module does not build (the message names the line), does not load, exports no job, has an invalid name or an input schema JSON Schema cannot describe (BAD_INPUT); the body is not JSON (MALFORMED_JSON)',
      409: 'a job type from a --jobs folder has that name (CONFLICT)',
      ...BODY_REFUSED,
      413: 'the module is larger than --max-module-bytes, or the body than twice that (PAYLOAD_TOO_LARGE)',
      503: `${REDIS_DOWN}; or stored but the replicas have not confirmed it (NOT_REPLICATED)`,
    }),
  },
});

const listVersions = createRoute({
  operationId: 'listJobTypeVersions',
  method: 'get',
  path: '/{name}/versions',
  tags: ['job types'],
  summary: "a deployed job type's versions, oldest first, and which is active",
  request: { params: NameParams },
  responses: { 200: json('the versions', JobTypeVersionsSchema), ...errorAnswers({ 404: NO_SUCH_VERSION, 503: REDIS_DOWN }) },
});

const activateVersion = createRoute({
  operationId: 'activateJobTypeVersion',
  method: 'post',
  path: '/{name}/versions/{version}/activate',
  tags: ['job types'],
  summary: 'make a stored version the active one (a rollback)',
  request: { params: VersionParams },
  responses: {
    200: json('the version is active: new jobs run it', ActivateAnswerSchema),
    ...errorAnswers({ 400: 'the name or version is not valid (BAD_INPUT)', 404: NO_SUCH_VERSION, 503: REDIS_DOWN }),
  },
});

const deleteVersion = createRoute({
  operationId: 'deleteJobTypeVersion',
  method: 'delete',
  path: '/{name}/versions/{version}',
  tags: ['job types'],
  summary: 'delete a version that is neither active nor run by a job in flight',
  request: { params: VersionParams },
  responses: {
    200: json('the version is deleted', DeleteVersionAnswerSchema),
    ...errorAnswers({ 400: 'the name or version is not valid (BAD_INPUT)', 404: NO_SUCH_VERSION, 409: 'the version is active, or a job in flight runs it (CONFLICT)', 503: REDIS_DOWN }),
  },
});

/**
 * Mounted at /v1/job-types. Every route here but the GET needs the `admin` scope (auth.ts: a
 * non-GET route not listed in SUBMIT_ROUTES): deploying is running code on the cluster.
 */
export function deployRoutes(deps: DeployDeps): OpenAPIHono<BlankEnv> {
  const { store, registry } = deps;
  const app = routeApp();
  serveRoute(app, deployJobType, async (c) => {
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
    return c.json({ name: info.name, version: outcome.version, created: outcome.created, digest: codeDigest(code), inputSchema: info.inputSchema }, outcome.created ? 201 : 200);
  });

  serveRoute(app, listVersions, async (c) => {
    const name = c.req.param('name');
    const versions = JOB_TYPE_NAME.test(name) ? await store.jobTypes.versions(name) : [];
    if (versions.length === 0) throw new RingpoolError('NOT_FOUND', `no deployed job type ${JSON.stringify(name.slice(0, 80))}; see GET /v1/job-types`);
    const active = (await store.jobTypes.active()).get(name) ?? null;
    return c.json({ name, active, versions: versions.map((v) => ({ ...v, active: v.version === active })) });
  });

  serveRoute(app, activateVersion, async (c) => {
    const { name, version } = versionParams(c.req.param());
    const before = await store.jobTypes.activate(name, version);
    deps.logger?.info({ audit: 'activate', jobType: name, version, before, by: principalOf(c).id }, 'job type version activated');
    await registry.refresh();
    return c.json({ name, active: version, before: before === 0 ? null : before });
  });

  serveRoute(app, deleteVersion, async (c) => {
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

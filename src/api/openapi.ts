// The OpenAPI 3.1 document of the API: the routes' createRoute definitions, each job type's input schema, and each operation's scope from auth.ts.
//
// Why the routes register their definitions (route-spec.ts serveRoute) instead of `app.openapi()`:
// its validators would replace what the handlers do with the same zod schemas. The JSON body
// validator reads the body through `c.req.json()` (not json-body.ts's readJson: no size or nesting
// limit, an HTTPException where we answer 415 UNSUPPORTED_MEDIA_TYPE or 400 MALFORMED_JSON); a
// submission's body depends on its job type, known only once the envelope is parsed; the query
// validator turns a repeated parameter into an array the handlers never see; and every validator
// is one more Hono route on the path. The handlers parse with the very schemas the definitions
// document (ListJobsQuerySchema, WaitQuery, SubmitBodySchema, each module's input).
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { JobRegistry, LoadedJob } from '../registry/job-registry.js';
import { JobOptionsSchema } from '../sdk/job-options.js';
import { isCrossTenantView, requiredScope, type Access } from './auth.js';
import { EndEventSchema, ProgressEventSchema } from './wire.js';

/** Where the POST /v1/jobs body is: a component built from the registry when the document is. */
export const SUBMIT_BODY_REF = '#/components/schemas/SubmitBody';

const SCHEMAS = '#/components/schemas/';
/** The submission's options, a component the per-job-type bodies refer to. */
const JOB_OPTIONS = JobOptionsSchema.meta({ id: 'JobOptions' });
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

type Json = Record<string, unknown>;
type OpenAPIDefinitions = OpenAPIRegistry['definitions'][number];
type Operation = Json & { description?: string; parameters?: Json[]; responses: Record<string, unknown> };

export interface OpenApiSources {
  /** The route definitions, as createApi's app has collected them from its route modules. */
  readonly definitions: () => readonly OpenAPIDefinitions[];
  readonly registry: JobRegistry;
}

/** The document, built again only when the registry's job types change (a job type deployed later appears). */
export function openApiDocument(sources: OpenApiSources): () => Json {
  return memoOnJobTypes(sources.registry, () => buildDocument(sources.definitions(), sources.registry.list()));
}

/** `build()`, called again only when the registry lists other job types (compared by identity) than at its last call. */
export function memoOnJobTypes<T>(registry: JobRegistry, build: () => T): () => T {
  let seen: readonly LoadedJob[] | undefined;
  let value: T;
  return () => {
    const now = registry.list();
    if (seen === undefined || now.length !== seen.length || now.some((j, i) => j !== seen?.[i])) {
      value = build();
      seen = [...now];
    }
    return value;
  };
}

function buildDocument(definitions: readonly OpenAPIDefinitions[], jobTypes: readonly LoadedJob[]): Json {
  const extra = new OpenAPIRegistry();
  // Components by their zod `id` (not registry.register(): it needs `.openapi()`, which only
  // schemas made after @hono/zod-openapi's import have). The event stream's events are components
  // too: its route can only say text/event-stream.
  const components = [JOB_OPTIONS, ProgressEventSchema, EndEventSchema].map((schema) => ({ type: 'schema' as const, schema }));
  extra.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API token (--api-token / RINGPOOL_API_TOKENS) with the scope each operation names in `x-required-scope` (`admin` has every scope). ' +
      'A server started without tokens needs none. A GET may pass it as `?token=` instead.',
  });
  const doc = new OpenApiGeneratorV31([...definitions, ...components, ...extra.definitions]).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'ringpool',
      version: '1',
      description: 'The HTTP API of a ringpool node: submit, follow, cancel and retry jobs; the cluster, health and metrics. Errors are `ErrorBody` with a code and a message that says what to fix.',
    },
    tags: [
      { name: 'jobs', description: 'submit, read, follow, cancel and retry jobs' },
      { name: 'job types', description: 'what this node can run' },
      { name: 'cluster', description: 'the schedulers, workers and Redis nodes' },
      { name: 'health', description: 'liveness, readiness and metrics' },
      { name: 'reference', description: 'this document and its page' },
    ],
  }) as unknown as Json & { paths: Record<string, Record<string, Operation>>; components: { schemas: Json } };
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op !== undefined) describeAccess(op, method, path);
    }
  }
  Object.assign(doc.components.schemas, submitBodySchemas(jobTypes));
  return doc;
}

/**
 * What an operation needs, from requiredScope (the one table of scopes): `security` (none for an
 * open route), `x-required-scope`, a sentence in its description, the 401 and 403 answers, and the
 * `?token=` of a GET; path and query parameters lose the `null` a coercing zod schema lets through
 * (a URL carries text, never JSON null).
 */
function describeAccess(op: Operation, method: string, path: string): void {
  const access: Access = requiredScope(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'));
  op['x-required-scope'] = access;
  for (const p of op.parameters ?? []) dropNullType(p.schema as Json | undefined);
  if (access === 'open') {
    op.security = [];
    op.description = joined(op.description, 'Open: no token needed, even on a server with tokens.');
    return;
  }
  op.security = [{ bearer: [] }];
  const crossTenant = isCrossTenantView(path) ? ' It shows every tenant\'s work: when the tokens name more than one tenant it needs `admin`.' : '';
  op.description = joined(op.description, `Needs a token with the \`${access}\` scope (or \`admin\`) on a server with tokens.${crossTenant}`);
  op.responses['401'] = authError('no token, or one that is not valid (UNAUTHORIZED)');
  op.responses['403'] = authError(`the token lacks the \`${access}\` scope (FORBIDDEN)`);
  if (method === 'get' && !(op.parameters ?? []).some((p) => p.name === 'token' && p.in === 'query')) {
    const token = { name: 'token', in: 'query', required: false, schema: { type: 'string' }, description: 'the API token, instead of the Authorization header (EventSource cannot send headers)' };
    op.parameters = [...(op.parameters ?? []), token];
  }
}

function joined(text: string | undefined, sentence: string): string {
  return text === undefined || text === '' ? sentence : `${text}\n\n${sentence}`;
}

function dropNullType(schema: Json | undefined): void {
  if (schema !== undefined && Array.isArray(schema.type)) {
    const types = (schema.type as string[]).filter((t) => t !== 'null');
    schema.type = types.length === 1 ? types[0] : types;
  }
}

/** A 401 or 403 of the auth middleware: the ErrorBody (a component: every route's errors use it) and WWW-Authenticate. */
function authError(description: string): Json {
  return {
    description,
    headers: { 'WWW-Authenticate': { description: 'Bearer realm="ringpool", with error= (and scope=) saying what was wrong', schema: { type: 'string' } } },
    content: { 'application/json': { schema: { $ref: `${SCHEMAS}ErrorBody` } } },
  };
}

/**
 * The POST /v1/jobs body: `oneOf` one object per job type, told apart by `job`. Each is the
 * envelope (SubmitBodySchema: job, input, options, nothing else) with `job` fixed to the type's
 * name and `input` the type's own schema, as its zod schema accepts it (`io: 'input'`: a field
 * with a default may be left out). Refinements in code (e.g. "to ≥ from") are not in any schema.
 */
function submitBodySchemas(jobTypes: readonly LoadedJob[]): Json {
  const schemas: Json = {};
  const mapping: Record<string, string> = {};
  for (const { name, module } of jobTypes) {
    const inputName = `JobInput.${name}`;
    schemas[inputName] = inputSchemaOf(module.input, inputName, schemas);
    const inputRequired = !module.input.safeParse(undefined).success;
    schemas[`Submit.${name}`] = {
      type: 'object',
      title: name,
      ...(module.description === undefined ? {} : { description: module.description }),
      properties: {
        job: { type: 'string', const: name },
        input: { $ref: `${SCHEMAS}${inputName}` },
        options: { $ref: `${SCHEMAS}JobOptions` },
      },
      required: inputRequired ? ['job', 'input'] : ['job'],
      additionalProperties: false,
    };
    mapping[name] = `${SCHEMAS}Submit.${name}`;
  }
  const oneOf = Object.values(mapping).map(($ref) => ({ $ref }));
  schemas.SubmitBody =
    oneOf.length === 0
      ? { description: 'no job types are loaded: every submission is refused', not: {} }
      : { description: 'a job type, its input and options', oneOf, discriminator: { propertyName: 'job', mapping } };
  return schemas;
}

/**
 * The JSON Schema of a job type's input (as GET /v1/job-types describes it), its `$defs` moved
 * beside it under components/schemas and their references (and a recursive `#`) pointed there.
 */
function inputSchemaOf(input: z.ZodType, componentName: string, components: Json): Json {
  const { $schema: _, $defs, ...schema } = z.toJSONSchema(input, { unrepresentable: 'any', io: 'input' }) as Json;
  const defName = (key: string) => `${componentName}.${key.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const repoint = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(repoint);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        if (k !== '$ref' || typeof v !== 'string') return [k, repoint(v)];
        if (v === '#') return [k, `${SCHEMAS}${componentName}`];
        return [k, v.startsWith('#/$defs/') ? `${SCHEMAS}${defName(v.slice('#/$defs/'.length))}` : v];
      }),
    );
  };
  for (const [key, def] of Object.entries(($defs ?? {}) as Json)) components[defName(key)] = repoint(def);
  return repoint(schema) as Json;
}

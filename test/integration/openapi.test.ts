// The served OpenAPI document: valid OpenAPI 3.1 (a real validator), every Hono route in it and no other, each job type's input as its own schema (a type added later too),
// each operation's security from requiredScope, and README's route table the same routes.
import { readFileSync } from 'node:fs';
import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApi } from '../../src/api/app.js';
import { requiredScope } from '../../src/api/auth.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

const TOKENS = { all: 'openapi-all-token-0123456789', submit: 'openapi-submit-token-012345' } as const;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
const README = new URL('../../README.md', import.meta.url);

let node: TestNode;
let doc: any;

beforeAll(async () => {
  // The built-in job types and the test fixtures' (which-thread, spin, ...): inputs of many shapes.
  node = await startTestNode({ apiTokens: [TOKENS.all, `${TOKENS.submit}:submit`] }, 'openapi');
  const served = await node.api('/v1/openapi.json', { headers: { authorization: `Bearer ${TOKENS.all}` } });
  expect(served.status).toBe(200);
  doc = served.body;
});

afterAll(async () => {
  await node?.close();
});

/** `METHOD /path/{param}` of every operation in the document. */
function documentedOperations(document: any): string[] {
  return Object.entries(document.paths as Record<string, any>).flatMap(([path, item]) => METHODS.filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`));
}

/** Hono's `:param` as OpenAPI's `{param}`. */
const openApiPath = (honoPath: string) => honoPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('GET /v1/openapi.json', () => {
  it('needs the read scope, like every GET', async () => {
    expect((await node.api('/v1/openapi.json')).status).toBe(401);
    const forbidden = await node.api('/v1/openapi.json', { headers: { authorization: `Bearer ${TOKENS.submit}` } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('FORBIDDEN');
  });

  it('is a valid OpenAPI 3.1 document by a real validator, without warnings', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await validate(structuredClone(doc));
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.warnings).toEqual([]);
  });

  it("has every route of createApi's app, and no other", () => {
    const app = createApi({ store: node.store, registry: node.registry });
    const routes = app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${openApiPath(r.path)}`);
    expect(new Set(routes).size).toBe(routes.length);
    expect(documentedOperations(doc).sort()).toEqual(routes.sort());
  });

  it('names every path parameter of each route, with the ErrorBody component for errors', () => {
    for (const op of documentedOperations(doc)) {
      const [method, path] = op.split(' ') as [string, string];
      const operation = doc.paths[path][method.toLowerCase()];
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const params = (operation.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);
      expect(params.sort(), op).toEqual(inPath.sort());
      expect(operation.operationId, op).toMatch(/^[a-z][A-Za-z]+$/);
      for (const [status, answer] of Object.entries(operation.responses as Record<string, any>)) {
        if (Number(status) >= 400) expect(answer.content['application/json'].schema, `${op} ${status}`).toEqual({ $ref: '#/components/schemas/ErrorBody' });
        if (status === '429' || status === '503') expect(answer.headers?.['Retry-After'], `${op} ${status}`).toBeDefined();
      }
    }
    expect(doc.components.schemas.ErrorBody.properties.error.required).toEqual(['code', 'message']);
  });
});

describe('each job type in the document', () => {
  it("has its input as its own schema, z.toJSONSchema of the module's, under a POST /v1/jobs body told apart by `job`", () => {
    const schemas = doc.components.schemas;
    const names = node.registry.list().map((j) => j.name);
    expect(names).toEqual(expect.arrayContaining(['primes', 'pi', 'mandelbrot', 'wordcount', 'spin', 'which-thread']));
    const body = doc.paths['/v1/jobs'].post.requestBody;
    expect(body.required).toBe(true);
    expect(body.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/SubmitBody' });
    expect(schemas.SubmitBody.discriminator.propertyName).toBe('job');
    expect(Object.keys(schemas.SubmitBody.discriminator.mapping).sort()).toEqual([...names].sort());
    expect(schemas.SubmitBody.oneOf).toHaveLength(names.length);
    for (const { name, module } of node.registry.list()) {
      const { $schema: _, ...input } = z.toJSONSchema(module.input, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
      expect(schemas[`JobInput.${name}`], name).toEqual(input);
      const submit = schemas[`Submit.${name}`];
      expect(schemas.SubmitBody.discriminator.mapping[name]).toBe(`#/components/schemas/Submit.${name}`);
      expect(schemas.SubmitBody.oneOf).toContainEqual({ $ref: `#/components/schemas/Submit.${name}` });
      expect(submit.properties.job).toEqual({ type: 'string', const: name });
      expect(submit.properties.input).toEqual({ $ref: `#/components/schemas/JobInput.${name}` });
      expect(submit.properties.options).toEqual({ $ref: '#/components/schemas/JobOptions' });
      expect(submit.required).toEqual(['job', 'input']);
      expect(submit.additionalProperties).toBe(false);
    }
  });

  it('includes a job type deployed while the process runs (POST /v1/job-types), without a restart', async () => {
    const admin = { authorization: `Bearer ${TOKENS.all}` };
    const before: any = (await node.api('/v1/openapi.json', { headers: admin })).body;
    expect(before.components.schemas['Submit.late']).toBeUndefined();
    const source = "import { z } from 'zod';\nimport { defineJob } from 'ringpool/sdk';\nexport default defineJob({ name: 'late', input: z.object({ n: z.number().int() }), *split({ n }) { yield n; }, run: (x: number) => x, reduce: (r: number[]) => r });";
    expect((await node.api('/v1/job-types', { body: { source, filename: 'late.ts' }, headers: admin })).status).toBe(201);
    const after: any = (await node.api('/v1/openapi.json', { headers: admin })).body;
    expect(after.components.schemas['Submit.late'].properties.job.const).toBe('late');
    expect(after.components.schemas['JobInput.late']).toMatchObject({ type: 'object', required: ['n'] });
    expect(after.components.schemas.SubmitBody.discriminator.mapping.late).toBe('#/components/schemas/Submit.late');
    const submitted = await node.api('/v1/jobs', { body: { job: 'late', input: { n: 3 } }, headers: admin });
    expect(submitted.status).toBe(202);
  });
});

describe('security in the document', () => {
  it("is requiredScope's for each operation: bearer and x-required-scope, none for the open routes, 401 and 403 where a token is needed", () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const scopes: Record<string, string> = {};
    for (const op of documentedOperations(doc)) {
      const [method, path] = op.split(' ') as [string, string];
      const operation = doc.paths[path][method.toLowerCase()];
      const access = requiredScope(method, path.replace(/\{[^}]+\}/g, 'some-value'));
      scopes[op] = access;
      expect(operation['x-required-scope'], op).toBe(access);
      expect(operation.description, op).toContain(access === 'open' ? 'no token needed' : `\`${access}\` scope`);
      if (access === 'open') {
        expect(operation.security, op).toEqual([]);
        expect(operation.responses['401'], op).toBeUndefined();
      } else {
        expect(operation.security, op).toEqual([{ bearer: [] }]);
        expect(Object.keys(operation.responses), op).toEqual(expect.arrayContaining(['401', '403']));
      }
    }
    expect(scopes).toMatchObject({ 'GET /healthz': 'open', 'GET /readyz': 'open', 'GET /docs': 'open', 'GET /v1/openapi.json': 'read', 'POST /v1/jobs': 'submit', 'POST /v1/workers/{id}/drain': 'admin' });
  });

  it('is what the node does: an operation that needs a token answers 401 without one, an open one does not', async () => {
    for (const op of documentedOperations(doc)) {
      const [method, path] = op.split(' ') as [string, string];
      const res = await fetch(`${node.url}${path.replace(/\{[^}]+\}/g, 'some-value')}`, { method });
      await res.arrayBuffer().catch(() => {});
      if (doc.paths[path][method.toLowerCase()]['x-required-scope'] === 'open') expect(res.status, op).not.toBe(401);
      else expect(res.status, op).toBe(401);
    }
  });
});

describe("README's HTTP API table", () => {
  /** `METHOD /path` of each route the table's first column names (a bare `/path` takes the method before it in the cell). */
  function readmeRoutes(): string[] {
    const text = readFileSync(README, 'utf8');
    const section = text.slice(text.indexOf('## HTTP API'), text.indexOf('\n## ', text.indexOf('## HTTP API') + 1));
    const rows = section.split('\n').filter((l) => l.startsWith('| `'));
    return rows.flatMap((row) => {
      let method = '';
      return [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].flatMap(([, code]) => {
        const m = /^(?:(GET|POST|PUT|PATCH|DELETE) )?(\/[^\s?]*)/.exec(code as string);
        if (m === null) return [];
        method = m[1] ?? method;
        return [`${method} ${openApiPath(m[2] as string)}`];
      });
    });
  }

  it('names the same routes as the document, both ways', () => {
    const table = [...new Set(readmeRoutes())].sort();
    expect(table.length).toBeGreaterThan(10);
    expect(table).toEqual(documentedOperations(doc).sort());
  });
});

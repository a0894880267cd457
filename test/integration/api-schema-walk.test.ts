// Walks every operation of the served OpenAPI document with fast-check: valid and invalid requests made from its schemas, sent to a real node (real Redis, real workers; its scheduler stops after the setup's jobs).
// Every answer's status is one the document lists for the operation, its body matches the documented schema for that status and content type, none is a 5xx,
// a request the document calls invalid is refused (4xx), and one without the right token gets the 401 or 403 its x-required-scope says.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { invalidValue, resolve, validValue, type Schema } from '../helpers/schema-arbitrary.js';

/** Requests per operation: enough for every kind of request below to come up, few enough for the file to take seconds. */
const RUNS = 30;
const SEED = 2310;
const TOKENS = { admin: 'walk-admin-token-0123456789', read: 'walk-read-token-01234567890' } as const;
const METHODS = ['get', 'post', 'delete', 'put', 'patch'] as const;

let node: TestNode;
let doc: Schema;
/** Answers' bodies, against the document's schemas. */
let ajv: Ajv2020;
/** Query values as the API reads them: text coerced to the parameter's type. */
let ajvQuery: Ajv2020;
/** Ids of real jobs: completed (JSON), completed (image), failed, cancelled, queued. */
const jobIds: string[] = [];
const tally = { requests: 0, invalid: 0, unauthorised: 0, byStatus: new Map<number, number>() };

async function waitForStatus(id: string, wanted: RegExp): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    const { body } = await node.api(`/v1/jobs/${id}`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
    if (wanted.test(body.status)) return;
  }
  throw new Error(`job ${id} never reached ${wanted}`);
}

beforeAll(async () => {
  // The built-in job types only (jobsDirs: []): the walk submits valid inputs of each. A scheduler
  // of the same prefix runs the setup's jobs, then stops: the jobs made after it (one for the
  // `queued` state, and the walk's own submissions) stay queued, and no random input is run.
  const config = { apiTokens: [TOKENS.admin, `${TOKENS.read}:read`], jobsDirs: [] };
  node = await startTestNode(config, 'walk', { api: true, scheduler: false, worker: true });
  const scheduler = await startTestNode({ ...config, prefix: node.prefix }, 'walk-sched', { api: false, scheduler: true, worker: false });
  const auth = { authorization: `Bearer ${TOKENS.admin}` };
  const served = await node.api('/v1/openapi.json', { headers: auth });
  expect(served.status).toBe(200);
  doc = served.body;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'doc', components: doc.components });
  ajvQuery = new Ajv2020({ strict: false, coerceTypes: true });
  ajvQuery.addSchema({ $id: 'doc', components: doc.components });

  const submit = async (body: unknown) => {
    const res = await node.api('/v1/jobs', { body, headers: auth });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.id as string;
  };
  const completed = await submit({ job: 'primes', input: { from: 0, to: 1000 } });
  const image = await submit({ job: 'mandelbrot', input: { width: 8, height: 8, maxIter: 10 } });
  // Tasks of ~300 million numbers each cannot finish in 10 ms: the job fails for good.
  const failed = await submit({ job: 'primes', input: { from: 0, to: 10_000_000_000 }, options: { taskTimeoutMs: 10, retries: 0 } });
  const cancelled = await submit({ job: 'pi', input: { samples: 100_000_000_000, samplesPerTask: 1_000_000_000 } });
  await node.api(`/v1/jobs/${cancelled}`, { method: 'DELETE', headers: auth });
  await Promise.all([waitForStatus(completed, /^completed$/), waitForStatus(image, /^completed$/), waitForStatus(failed, /^failed$/), waitForStatus(cancelled, /^cancelled$/)]);
  await scheduler.close();
  const queued = await submit({ job: 'pi', input: { samples: 1000, samplesPerTask: 1000 } });
  jobIds.push(completed, image, failed, cancelled, queued);
}, 120_000);

afterAll(async () => {
  console.log(`[api-schema-walk] ${tally.requests} requests, ${tally.invalid} invalid by the document, ${tally.unauthorised} without the right token; by status ${JSON.stringify(Object.fromEntries([...tally.byStatus].sort(([a], [b]) => a - b)))}`);
  await node?.close();
});

/** The document's schemas refer to `#/components/...`: compiled against the components added as `doc`. */
function compile(instance: Ajv2020, schema: Schema): ValidateFunction {
  return instance.compile(JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/')));
}

const validators = new Map<string, ValidateFunction>();
function validatorFor(key: string, instance: Ajv2020, schema: Schema): ValidateFunction {
  let v = validators.get(key);
  if (v === undefined) validators.set(key, (v = compile(instance, schema)));
  return v;
}

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly op: Schema;
}

interface WalkRequest {
  readonly path: string;
  readonly query: ReadonlyArray<readonly [string, string]>;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** Whether the document calls the query and body valid. */
  readonly valid: boolean;
  /** The status the token alone must give: 401 (none or a wrong one), 403 (too few scopes), or none. */
  readonly authStatus: 401 | 403 | undefined;
}

/** Every operation of the document; draining a worker last (after it, the node's worker takes no work). */
function operations(): Operation[] {
  const ops = Object.entries(doc.paths as Record<string, Schema>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((method) => ({ method, path, op: item[method] as Schema })),
  );
  return ops.sort((a, b) => Number(a.path.endsWith('/drain')) - Number(b.path.endsWith('/drain')));
}

/** A path parameter: an id that exists (a real job, this node's worker, a served file) or any text the schema allows. */
function pathValue(path: string, name: string, schema: Schema): fc.Arbitrary<string> {
  const existing = path.startsWith('/v1/workers/') ? ['w-walk'] : path.startsWith('/docs/') ? ['docs.js', 'docs.css', 'swagger-ui.css'] : jobIds;
  return fc.oneof(fc.constantFrom(...existing), (validValue(schema, doc) as fc.Arbitrary<string>).filter((v) => v !== ''));
}

/** A query parameter's value as text, and whether the document allows it (the API coerces text as ajvQuery does). */
function queryValue(name: string, schema: Schema): fc.Arbitrary<{ text: string; ok: boolean }> {
  // `wait` may be 30 s; the walk checks answers, not waiting, so its valid values stay small.
  const allowed = name === 'wait' ? { ...schema, maximum: 50 } : schema;
  const check = validatorFor(`query ${JSON.stringify(schema)}`, ajvQuery, { type: 'object', properties: { v: schema } });
  return fc
    .oneof({ weight: 3, arbitrary: validValue(allowed, doc) }, { weight: 1, arbitrary: invalidValue(schema, doc) })
    .map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)))
    .filter((text) => text !== '')
    .map((text) => ({ text, ok: check({ v: text }) }));
}

function queryParams(op: Schema): fc.Arbitrary<Array<{ name: string; text: string; ok: boolean }>> {
  const params = ((op.parameters ?? []) as Schema[]).filter((p) => p.in === 'query' && p.name !== 'token');
  return fc
    .tuple(...params.map((p) => fc.option(queryValue(p.name, resolve(p.schema, doc)), { nil: undefined }).map((v) => (v === undefined ? undefined : { name: p.name as string, ...v }))))
    .map((vs) => vs.filter((v): v is { name: string; text: string; ok: boolean } => v !== undefined));
}

/** A JSON body: valid or not by the document, sometimes not JSON at all or sent as another content type. */
function requestBody(op: Schema): fc.Arbitrary<{ body?: string; contentType?: string; ok: boolean }> {
  const schema = op.requestBody?.content?.['application/json']?.schema as Schema | undefined;
  if (schema === undefined) return fc.constant({ ok: true });
  const check = validatorFor(`body ${JSON.stringify(schema)}`, ajv, schema);
  // Judged as sent: JSON text drops what JSON cannot hold (undefined, -0, NaN).
  const json = (v: unknown) => {
    const body = JSON.stringify(v) ?? 'null';
    return { body, contentType: 'application/json', ok: check(JSON.parse(body)) };
  };
  return fc.oneof(
    { weight: 4, arbitrary: validValue(schema, doc).map(json) },
    { weight: 3, arbitrary: invalidValue(schema, doc).map(json) },
    { weight: 1, arbitrary: fc.constantFrom('{"job":', 'not json', '').map((body) => ({ body, contentType: 'application/json', ok: false })) },
    { weight: 1, arbitrary: validValue(schema, doc).map((v) => ({ body: JSON.stringify(v), contentType: 'text/plain', ok: false })) },
  );
}

/** Who asks: mostly a token with every scope; sometimes none, a wrong one, or a read-only one. */
function credentials(op: Schema, method: string): fc.Arbitrary<{ headers: Record<string, string>; query: Array<[string, string]>; authStatus: 401 | 403 | undefined }> {
  const scope = op['x-required-scope'] as string;
  const open = scope === 'open';
  const choices = [
    { weight: 6, arbitrary: fc.constant({ headers: { authorization: `Bearer ${TOKENS.admin}` }, query: [] as Array<[string, string]>, authStatus: undefined }) },
    { weight: 1, arbitrary: fc.constant({ headers: {}, query: [] as Array<[string, string]>, authStatus: open ? undefined : (401 as const) }) },
    { weight: 1, arbitrary: fc.constant({ headers: { authorization: 'Bearer walk-wrong-token-0123456789' }, query: [] as Array<[string, string]>, authStatus: open ? undefined : (401 as const) }) },
    { weight: 1, arbitrary: fc.constant({ headers: { authorization: `Bearer ${TOKENS.read}` }, query: [] as Array<[string, string]>, authStatus: open || scope === 'read' ? undefined : (403 as const) }) },
  ];
  // A GET may carry the token in its query (EventSource cannot send headers).
  if (method === 'get') choices.push({ weight: 1, arbitrary: fc.constant({ headers: {}, query: [['token', TOKENS.admin]] as Array<[string, string]>, authStatus: undefined }) });
  return fc.oneof(...choices);
}

function requests({ method, path, op }: Operation): fc.Arbitrary<WalkRequest> {
  const pathParams = ((op.parameters ?? []) as Schema[]).filter((p) => p.in === 'path');
  const concretePath = fc
    .tuple(...pathParams.map((p) => pathValue(path, p.name, resolve(p.schema, doc)).map((v) => [p.name as string, v] as const)))
    .map((pairs) => pairs.reduce((acc, [name, v]) => acc.replace(`{${name}}`, encodeURIComponent(v)), path));
  return fc.tuple(concretePath, queryParams(op), requestBody(op), credentials(op, method)).map(([p, query, body, auth]) => ({
    path: p,
    query: [...query.map((q) => [q.name, q.text] as const), ...auth.query],
    headers: { ...auth.headers, ...(body.contentType === undefined ? {} : { 'content-type': body.contentType }) },
    ...(body.body === undefined ? {} : { body: body.body }),
    valid: body.ok && query.every((q) => q.ok),
    authStatus: auth.authStatus,
  }));
}

/** Sends the request; an event stream is closed once its head has come. */
async function send(method: string, req: WalkRequest): Promise<{ status: number; type: string; body: unknown }> {
  const url = new URL(`${node.url}${req.path}`);
  for (const [k, v] of req.query) url.searchParams.append(k, v);
  const abort = new AbortController();
  const res = await fetch(url, { method: method.toUpperCase(), headers: req.headers, signal: abort.signal, ...(req.body === undefined ? {} : { body: req.body }) });
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/event-stream') {
    abort.abort();
    return { status: res.status, type, body: undefined };
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  const body = type === 'application/json' ? JSON.parse(bytes.toString('utf8')) : type.startsWith('text/') ? bytes.toString('utf8') : bytes;
  return { status: res.status, type, body };
}

/** The answer against the document: a listed status, a listed content type, a body its schema accepts. */
function checkAnswer(where: string, op: Schema, answer: { status: number; type: string; body: unknown }): void {
  const documented = op.responses[String(answer.status)] as Schema | undefined;
  expect(documented, `${where} answered ${answer.status}, not listed (${Object.keys(op.responses).join(', ')}): ${JSON.stringify(answer.body)?.slice(0, 300)}`).toBeDefined();
  expect(answer.status, `${where}: ${JSON.stringify(answer.body)?.slice(0, 300)}`).toBeLessThan(500);
  const content = (documented?.content ?? {}) as Record<string, Schema>;
  if (Object.keys(content).length === 0) return;
  const media = content[answer.type];
  expect(media, `${where} answered ${answer.status} as ${answer.type}, documented as ${Object.keys(content).join(', ')}`).toBeDefined();
  if (answer.type === 'text/event-stream') return;
  if (answer.type === 'image/png') {
    expect((answer.body as Buffer).subarray(0, 8).toString('hex'), `${where}: a PNG`).toBe('89504e470d0a1a0a');
    return;
  }
  const validate = validatorFor(`answer ${JSON.stringify(media!.schema)}`, ajv, media!.schema);
  expect(validate(answer.body), `${where} ${answer.status} body ${JSON.stringify(answer.body).slice(0, 300)} fails its schema: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

describe('every operation of the served document, walked with requests from its schemas', () => {
  it('answers only listed statuses with bodies that match, never a 5xx; invalid requests are refused, tokens checked as documented', { timeout: 180_000 }, async () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(16);
    for (const [i, operation] of ops.entries()) {
      const name = `${operation.method.toUpperCase()} ${operation.path}`;
      await fc.assert(
        fc.asyncProperty(requests(operation), async (req) => {
          const answer = await send(operation.method, req);
          tally.requests++;
          tally.byStatus.set(answer.status, (tally.byStatus.get(answer.status) ?? 0) + 1);
          const where = `${name} (${req.path}?${req.query.map(([k, v]) => `${k}=${v}`).join('&')}, body ${req.body?.slice(0, 200)})`;
          checkAnswer(where, operation.op, answer);
          if (req.authStatus !== undefined) {
            tally.unauthorised++;
            expect(answer.status, where).toBe(req.authStatus);
          } else if (!req.valid) {
            tally.invalid++;
            expect(answer.status, `${where}: invalid by the document, yet ${answer.status}`).toBeGreaterThanOrEqual(400);
          }
        }),
        { numRuns: RUNS, seed: SEED + i, endOnFailure: true },
      );
    }
    // Each kind of request came up.
    expect(tally.invalid).toBeGreaterThan(20);
    expect(tally.unauthorised).toBeGreaterThan(20);
    expect([...tally.byStatus.keys()]).toEqual(expect.arrayContaining([200, 202, 400, 401, 403, 404, 409, 415]));
  });
});

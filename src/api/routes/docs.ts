// GET /v1/openapi.json (the API's OpenAPI 3.1 document) and /docs (Swagger UI over it, served from swagger-ui-dist in node_modules: no CDN).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import type { Context } from 'hono';
import { z } from 'zod';
import { RingpoolError } from '../../errors.js';
import { openApiDocument, type OpenApiSources } from '../openapi.js';
import { createRoute, errorAnswers, routeApp, serveRoute } from '../route-spec.js';

interface Asset {
  readonly body: Uint8Array;
  readonly type: string;
  readonly etag: string;
}

/** The page's policy: its own scripts only, API calls to this origin only; Swagger UI sets style attributes and shows data: icons. */
const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const TYPES = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8' } as const;

const openApiJson = createRoute({
  operationId: 'getOpenApiDocument',
  method: 'get',
  path: '/v1/openapi.json',
  tags: ['reference'],
  summary: 'this document',
  description: "Built from the routes' definitions and the job types loaded now: a job type added later appears in it.",
  responses: { 200: { description: 'the OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'info', 'paths'] } } } } },
});

const docsPage = createRoute({
  operationId: 'getDocsPage',
  method: 'get',
  path: '/docs',
  tags: ['reference'],
  summary: 'the API reference page (Swagger UI over this document)',
  description: "Its \"Try it out\" sends the token the dashboard keeps in this tab, or asks for one.",
  responses: {
    200: { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } },
    304: { description: 'not modified: If-None-Match holds its ETag' },
  },
});

const docsAsset = createRoute({
  operationId: 'getDocsAsset',
  method: 'get',
  path: '/docs/assets/{name}',
  tags: ['reference'],
  summary: "the reference page's scripts and styles",
  request: { params: z.object({ name: z.string().describe('a file name, e.g. swagger-ui-bundle.js') }) },
  responses: {
    200: { description: 'the file', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } },
    304: { description: 'not modified: If-None-Match holds its ETag' },
    ...errorAnswers({ 404: 'no such file (NOT_FOUND)' }),
  },
});

/** Mounted at the root. /docs and its files are open like the dashboard's shell (auth.ts); the document needs `read`. */
export function docsRoutes(sources: OpenApiSources): OpenAPIHono<BlankEnv> {
  const document = openApiDocument(sources);
  const { page, assets } = loadFiles();
  const app = routeApp();
  serveRoute(app, openApiJson, (c) => c.json(document()));
  serveRoute(app, docsPage, (c) => send(c, page, { 'content-security-policy': DOCS_CSP, 'referrer-policy': 'no-referrer' }));
  serveRoute(app, docsAsset, (c) => {
    const asset = assets.get(c.req.param('name') ?? '');
    if (asset === undefined) throw new RingpoolError('NOT_FOUND', `no file ${JSON.stringify((c.req.param('name') ?? '').slice(0, 80))} in the API reference's assets`);
    return send(c, asset);
  });
  return app;
}

function send(c: Context, asset: Asset, extra: Record<string, string> = {}): Response {
  // no-cache: revalidated by ETag (cheap), so a new version is never served stale.
  const headers = { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...extra };
  if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
  return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, headers);
}

/** Our page, script and styles (src/api/docs/) and Swagger UI's bundle and styles, read once. */
function loadFiles(): { page: Asset; assets: Map<string, Asset> } {
  const read = (path: string, type: string): Asset => {
    const body = readFileSync(path);
    return { body, type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"` };
  };
  const own = (name: string) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Asset>([
    ['docs.js', read(own('docs.js'), TYPES.js)],
    ['docs.css', read(own('docs.css'), TYPES.css)],
    // The dashboard's token module: a token given on either page serves both.
    ['token.js', read(fileURLToPath(new URL('../../ui/assets/token.js', import.meta.url)), TYPES.js)],
    ['swagger-ui-bundle.js', read(require.resolve('swagger-ui-dist/swagger-ui-bundle.js'), TYPES.js)],
    ['swagger-ui.css', read(require.resolve('swagger-ui-dist/swagger-ui.css'), TYPES.css)],
  ]);
  return { page: read(own('index.html'), TYPES.html), assets };
}

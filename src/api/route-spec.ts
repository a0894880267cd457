// How a route module declares a route: its createRoute definition (what the OpenAPI document shows) registered beside its handler, and the pieces definitions share.
import { OpenAPIHono, createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { Handler } from 'hono';
import type { BlankEnv } from 'hono/types';
import { z } from 'zod';
import { ErrorBodySchema } from './wire.js';

export { createRoute, type RouteConfig };

/** A route module's app: createApi's app collects the definitions of each one it mounts (OpenAPIHono.route). */
export function routeApp(): OpenAPIHono<BlankEnv> {
  return new OpenAPIHono<BlankEnv>();
}

/** An OpenAPI path (`/{id}/result`) as Hono writes it (`/:id/result`), so a handler's `c.req.param('id')` is typed. */
type HonoPath<P extends string> = P extends `${infer Head}{${infer Name}}${infer Tail}` ? HonoPath<`${Head}:${Name}${Tail}`> : P;

/**
 * Registers `route` in the app's OpenAPI registry and `handler` on the same method and path.
 * Not `app.openapi()`: its validators would take over what the handlers do with the same schemas
 * (src/api/openapi.ts says why), and each validator is one more Hono route on the path.
 */
export function serveRoute<R extends RouteConfig>(app: OpenAPIHono<BlankEnv>, route: R, handler: Handler<BlankEnv, HonoPath<R['path']>>): void {
  app.openAPIRegistry.registerPath(route);
  app.on(route.method.toUpperCase(), route.path.replace(/\{([^}]+)\}/g, ':$1'), handler);
}

/** `{id}` of the job routes: any text; one that is not a job id is answered 404, as an unknown one. */
export const JobIdParams = z.object({
  id: z.string().describe('the job id, as the submission answered it (e.g. "m3x9k2p1-0a1b2c3d4e")'),
});

/** An answer with a JSON body of `schema`. */
export function json(description: string, schema: z.ZodType): { description: string; content: { 'application/json': { schema: z.ZodType } } } {
  return { description, content: { 'application/json': { schema } } };
}

const RETRY_AFTER = {
  'Retry-After': { description: 'seconds to wait before asking again', schema: { type: 'integer' as const, minimum: 1 } },
};

/** An error answer: the ErrorBody, with `Retry-After` on 429 and 503. */
export function errorAnswer(status: number, description: string) {
  return { description, content: { 'application/json': { schema: ErrorBodySchema } }, ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}) };
}

/** The error answers of a route, by status. */
export function errorAnswers(byStatus: Readonly<Record<number, string>>): Record<string, ReturnType<typeof errorAnswer>> {
  return Object.fromEntries(Object.entries(byStatus).map(([status, description]) => [status, errorAnswer(Number(status), description)]));
}

/** What every route that reads a JSON body (src/api/json-body.ts) may refuse it for, besides its own 400s. */
export const BODY_REFUSED: Readonly<Record<413 | 415, string>> = Object.freeze({
  413: 'the body is larger than the limit (PAYLOAD_TOO_LARGE)',
  415: 'the body is not sent as application/json (UNSUPPORTED_MEDIA_TYPE)',
});

/** What every route that reads or writes Redis may answer while it cannot. */
export const REDIS_DOWN = 'Redis is unreachable (REDIS_UNAVAILABLE); nothing changed, ask again after Retry-After';
export const NO_SUCH_JOB = 'no job with that id (NOT_FOUND): never submitted, expired, or not a job id';

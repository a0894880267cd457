// API tokens with scopes and a tenant: parsing `TOKEN[:scope+scope][@tenant]`, which scope each route needs, and the middleware.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { DEFAULT_TENANT, TENANT_NAME, TenantPolicies } from '../config/tenants.js';
import { RingpoolError } from '../errors.js';

/**
 * What a token may do. `read`: every GET/HEAD route (jobs, results, events, cluster, metrics,
 * dashboard). `submit`: create and control work (submit, cancel, retry). `admin`: everything,
 * including operator routes such as draining a worker node. Scopes do not imply each other,
 * except that `admin` implies all.
 */
export type Scope = 'submit' | 'read' | 'admin';
export const SCOPES: readonly Scope[] = Object.freeze(['submit', 'read', 'admin']);

/** What a request needs: nothing (`open`), or one scope. */
export type Access = 'open' | Scope;

/** A configured token: its digest (the token itself is not kept), its scopes and its tenant. */
export interface ApiToken {
  /** A stable, non-secret name for the token (`tok-` + 12 hex of its SHA-256): quotas and logs use it. */
  readonly id: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly digest: Buffer;
  /** The tenant whose jobs the token sees and submits (docs/tenants.md); `default` without `@tenant`. */
  readonly tenant: string;
}

/** Who made a request, as the routes after the middleware see it. */
export interface Principal {
  /** `tok-…` for a token, `client-<address>` (or `client-local`) when the server has no tokens. */
  readonly id: string;
  readonly scopes: ReadonlySet<Scope>;
  /** The tenant the request acts for: the token's, or `default` on a server without tokens. */
  readonly tenant: string;
}

declare module 'hono' {
  interface ContextVariableMap {
    apiPrincipal: Principal;
  }
}

export const MIN_TOKEN_LENGTH = 16;
const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);
const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);
/** A request to an open route of a server with tokens. */
const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', scopes: new Set<Scope>(), tenant: DEFAULT_TENANT });
/** Read-only methods: a `read` token is enough, and `?token=` is accepted (EventSource cannot send headers). */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * Routes that change state and need `submit`; every other non-GET request needs `admin`, so a
 * route added later is closed to `submit` tokens until it is listed here (fail closed).
 */
const SUBMIT_ROUTES: ReadonlyArray<readonly [method: string, path: RegExp]> = [
  ['POST', /^\/v1\/jobs\/?$/],
  ['DELETE', /^\/v1\/jobs\/[^/]+\/?$/],
  ['POST', /^\/v1\/jobs\/[^/]+\/retry\/?$/],
  ['POST', /^\/v1\/schedules\/?$/],
  ['POST', /^\/v1\/schedules\/[^/]+\/(pause|resume)\/?$/],
  ['DELETE', /^\/v1\/schedules\/[^/]+\/?$/],
];

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Parses the configured tokens, `TOKEN` (every scope), `TOKEN:scope+scope`, either followed by
 * `@tenant`. The tenant is what follows the last `@` after the last `:` (a token with an `@` of its
 * own and no scopes must then name its tenant); the scopes are what follows the last `:`. With
 * `tenants` listing tenants, a token may only name one of them. Error messages name the entry by
 * position, never by its text.
 */
export function parseApiTokens(specs: readonly string[], tenants: TenantPolicies = new TenantPolicies()): ApiToken[] {
  const seen = new Set<string>();
  return specs.map((spec, i) => {
    const where = `API token #${i + 1} (--api-token / RINGPOOL_API_TOKENS)`;
    const { rest, tenant } = splitTenant(spec, where, tenants);
    const colon = rest.lastIndexOf(':');
    const token = colon === -1 ? rest : rest.slice(0, colon);
    let scopes: ReadonlySet<Scope> = ALL_SCOPES;
    if (colon !== -1) {
      const names = rest.slice(colon + 1).split('+');
      const unknown = names.filter((n) => !(SCOPES as readonly string[]).includes(n));
      if (unknown.length > 0) {
        const shown = unknown.map((n) => (n.length > 12 ? `${n.length} characters` : JSON.stringify(n))).join(', ');
        throw new RingpoolError('CONFIG', `${where}: after the last ":" come scopes joined by "+" (${SCOPES.join(', ')}); got ${shown}`);
      }
      scopes = new Set(names as Scope[]);
    }
    if (token.length < MIN_TOKEN_LENGTH) throw new RingpoolError('CONFIG', `${where}: a token must be at least ${MIN_TOKEN_LENGTH} characters before its ":scopes"`);
    if (/\s/.test(token)) throw new RingpoolError('CONFIG', `${where}: a token may not contain white space`);
    const d = digest(token);
    const id = `tok-${d.toString('hex').slice(0, 12)}`;
    if (seen.has(id)) throw new RingpoolError('CONFIG', `${where}: the same token is given twice`);
    seen.add(id);
    return Object.freeze({ id, scopes, digest: d, tenant });
  });
}

/** `@tenant` off the end of a token spec (after its last `:`), checked; `default` without one. */
function splitTenant(spec: string, where: string, tenants: TenantPolicies): { rest: string; tenant: string } {
  const at = spec.lastIndexOf('@');
  if (at === -1 || at < spec.lastIndexOf(':')) return { rest: spec, tenant: DEFAULT_TENANT };
  const tenant = spec.slice(at + 1);
  if (!TENANT_NAME.test(tenant)) {
    const shown = tenant.length > 63 ? `${tenant.length} characters` : JSON.stringify(tenant);
    throw new RingpoolError('CONFIG', `${where}: after "@" comes a tenant name of 1-63 lower-case letters, digits and dashes; got ${shown}`);
  }
  if (!tenants.admits(tenant)) {
    throw new RingpoolError('CONFIG', `${where}: unknown tenant ${JSON.stringify(tenant)}: add it under tenants in the config file (listed: ${tenants.names.join(', ')})`);
  }
  return { rest: spec.slice(0, at), tenant };
}

/**
 * The scope a request needs. GET/HEAD read; the routes in SUBMIT_ROUTES submit; anything else
 * (drain, future operator routes, unknown methods) admin. The health checks are open.
 */
export function requiredScope(method: string, path: string): Access {
  if (OPEN_PATHS.has(path)) return 'open';
  const m = method.toUpperCase();
  // The dashboard's and the API reference's pages and static files carry no data: a page must load to ask for a token.
  if (SAFE_METHODS.has(m) && (DASHBOARD_SHELL.some((re) => re.test(path)) || API_DOCS_SHELL.some((re) => re.test(path)))) return 'open';
  if (SAFE_METHODS.has(m)) return 'read';
  if (SUBMIT_ROUTES.some(([rm, re]) => rm === m && re.test(path))) return 'submit';
  return 'admin';
}

export function hasScope(scopes: ReadonlySet<Scope>, needed: Scope): boolean {
  return scopes.has('admin') || scopes.has(needed);
}

/**
 * The token `given` matches, compared in constant time: both sides are SHA-256 digests (equal
 * length), and every configured token is compared, so the time depends on neither which token
 * matched nor how many leading bytes agree.
 */
export function findToken(given: string, tokens: readonly ApiToken[]): ApiToken | undefined {
  const d = digest(given);
  let found: ApiToken | undefined;
  for (const t of tokens) {
    const equal = timingSafeEqual(d, t.digest);
    found = equal ? t : found;
  }
  return found;
}

/** The client's address when served by @hono/node-server (no import of the adapter: it may be absent). */
function clientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: unknown } } } | undefined;
  const address = env?.incoming?.socket?.remoteAddress;
  return typeof address === 'string' && address !== '' ? address.slice(0, 64) : 'local';
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** Same paths as `DASHBOARD_SHELL_PATHS` in src/ui/routes.ts (api/ does not import ui/). */
const DASHBOARD_SHELL: readonly RegExp[] = [/^\/$/, /^\/ui\/?$/, /^\/ui\/assets\/[A-Za-z0-9._/-]+$/];
/**
 * The API reference page and its files (routes/docs.ts), whatever the file name (one the page does
 * not have is 404 for anyone), so its scope is the one /v1/openapi.json shows for the route. The
 * document itself needs `read`.
 */
const API_DOCS_SHELL: readonly RegExp[] = [/^\/docs$/, /^\/docs\/assets\/[^/]+$/];
/** bull-board's page and its own requests cannot send a header: the dashboard sets this cookie for them. */
const QUEUES_BOARD = /^\/ui\/queues(\/|$)/;
/**
 * What shows every tenant's work at once and cannot keep tenants apart: bull-board's queues (their
 * entries), the cluster view (hosts, queue depths, what waits per node) and the Prometheus metrics
 * (counts by job type). With tokens of more than one tenant they are an operator's (admin).
 */
const CROSS_TENANT_VIEWS: readonly RegExp[] = [QUEUES_BOARD, /^\/v1\/cluster\/?$/, /^\/metrics$/];

/** Whether `path` is one of the views that need `admin` once tokens name more than one tenant (docs/tenants.md). */
export function isCrossTenantView(path: string): boolean {
  return CROSS_TENANT_VIEWS.some((re) => re.test(path));
}
const TOKEN_COOKIE = /(?:^|;\s*)ringpool_token=([^;]+)/;

/**
 * Authenticates and authorises every request, and sets `apiPrincipal`. No token: 401. A token
 * that matches none: 401. A valid token without the route's scope: 403. The token is read from
 * `Authorization: Bearer`, or from `?token=` on GET/HEAD only; it never appears in an error message,
 * and the API logs paths without their query string.
 */
export function apiAuth(specs: readonly string[], tenants: TenantPolicies = new TenantPolicies()): MiddlewareHandler {
  const tokens = parseApiTokens(specs, tenants);
  const multiTenant = new Set(tokens.map((t) => t.tenant)).size > 1;
  return async (c, next) => {
    const access = multiTenant && isCrossTenantView(c.req.path) ? 'admin' : requiredScope(c.req.method, c.req.path);
    if (tokens.length === 0) {
      c.set('apiPrincipal', { id: `client-${clientAddress(c)}`, scopes: ALL_SCOPES, tenant: DEFAULT_TENANT });
      return await next();
    }
    if (access === 'open') {
      c.set('apiPrincipal', ANONYMOUS);
      return await next();
    }
    const header = c.req.header('authorization');
    let given: string | undefined;
    if (header !== undefined) {
      const match = BEARER.exec(header);
      if (match === null) {
        throw new RingpoolError('UNAUTHORIZED', 'the Authorization header must be "Bearer <token>"', { details: { reason: 'invalid_request' } });
      }
      given = match[1];
    } else if (SAFE_METHODS.has(c.req.method.toUpperCase())) {
      given = c.req.query('token');
      if (given === undefined && QUEUES_BOARD.test(c.req.path)) {
        const cookie = TOKEN_COOKIE.exec(c.req.header('cookie') ?? '')?.[1];
        given = cookie === undefined ? undefined : decodeURIComponent(cookie);
      }
    }
    if (given === undefined || given === '') {
      throw new RingpoolError(
        'UNAUTHORIZED',
        'this server requires an API token: send "Authorization: Bearer <token>" (or ?token=<token> on a GET such as the event stream)',
        { details: { reason: 'missing_token' } },
      );
    }
    const token = findToken(given, tokens);
    if (token === undefined) throw new RingpoolError('UNAUTHORIZED', 'the API token is not valid', { details: { reason: 'invalid_token' } });
    if (!hasScope(token.scopes, access)) {
      const needs = multiTenant && isCrossTenantView(c.req.path) ? 'it shows every tenant\'s work, which needs the "admin" scope when tokens name more than one tenant' : `that needs the "${access}" scope (or "admin")`;
      throw new RingpoolError(
        'FORBIDDEN',
        `this token may not ${c.req.method.toUpperCase().slice(0, 10)} ${c.req.path.slice(0, 100)}: ${needs}; the token has ${[...token.scopes].join(', ')}`,
        { details: { required: access, scopes: [...token.scopes] } },
      );
    }
    c.set('apiPrincipal', { id: token.id, scopes: token.scopes, tenant: token.tenant });
    await next();
  };
}

/** Who made the request; anonymous (no scopes) if the auth middleware did not run. */
export function principalOf(c: Context): Principal {
  return c.get('apiPrincipal') ?? ANONYMOUS;
}

/**
 * Whether the principal may see and act on a job, schedule or other record of `tenant`: `admin`
 * sees every tenant's, anyone else only their own (docs/tenants.md). The routes answer a record
 * of another tenant exactly as an unknown id, so its existence does not leak.
 */
export function mayAccessTenant(principal: Principal, tenant: string): boolean {
  return principal.scopes.has('admin') || principal.tenant === tenant;
}

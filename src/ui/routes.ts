// The web dashboard: a static single-page app over the JSON API, and bull-board for the raw per-node queues.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import type { Context, Hono } from 'hono';
import { RingpoolError } from '../errors.js';
import { typeScriptRequire } from '../registry/import-module.js';
import type { WorkerStore } from '../store/worker-store.js';

export interface DashboardDeps {
  /**
   * The BullMQ queues bull-board shows at `/ui/queues`: one per worker node. Asked again at most
   * every `queueRefreshMs` when the board is used, so worker nodes that join appear without a restart.
   * The caller owns the queues (and closes them); see {@link createNodeQueues}.
   */
  readonly queues: () => Promise<readonly Queue[]> | readonly Queue[];
}

export interface DashboardOptions {
  /**
   * Whether bull-board may only look. Retrying, removing or emptying a node's BullMQ entries behind
   * ringpool's back would break its task accounting, so the board is read-only unless asked.
   * @default true
   */
  readonly queuesReadOnly?: boolean;
  /** How old the board's queue list may get before it is asked for again, ms. @default 5000 */
  readonly queueRefreshMs?: number;
}

export const DASHBOARD_DEFAULTS = Object.freeze({ queuesReadOnly: true, queueRefreshMs: 5000 });

/** Where the board lives; the single-page app links to it. */
export const QUEUES_BOARD_PATH = '/ui/queues';

/** The paths of the static shell: they carry no data, so a server with tokens may leave them open. */
export const DASHBOARD_SHELL_PATHS: readonly RegExp[] = Object.freeze([/^\/$/, /^\/ui\/?$/, /^\/ui\/assets\/[A-Za-z0-9._/-]+$/]);

const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(js|css|html|svg)$/;
const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  svg: 'image/svg+xml',
};

/**
 * The shell's policy: our own scripts only, API calls to this origin only. Styles may be inline
 * because uPlot and the SVG ring set style attributes; images may be blobs (a PNG result is
 * fetched with the token, then shown).
 */
const SHELL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

interface Asset {
  readonly body: Uint8Array;
  readonly type: string;
  readonly etag: string;
}

/**
 * Mounts the dashboard on `app`: the single-page app at `/` and `/ui`, its files under
 * `/ui/assets/`, uPlot's under `/ui/assets/vendor/`, and bull-board at `/ui/queues`.
 * The files are read once, here; nothing is fetched from a CDN.
 */
export function mountDashboard(app: Hono, deps: DashboardDeps, options: DashboardOptions = {}): void {
  const opts = { ...DASHBOARD_DEFAULTS, ...options };
  if (!Number.isInteger(opts.queueRefreshMs) || opts.queueRefreshMs < 0) {
    throw new RingpoolError('CONFIG', `queueRefreshMs must be an integer >= 0, got ${opts.queueRefreshMs}`);
  }
  const assets = loadAssets();
  const index = assets.get('index.html');
  if (index === undefined) throw new Error(`the dashboard's index.html is missing from ${ASSETS_DIR}`);

  const sendAsset = (c: Context, asset: Asset, extra: Record<string, string> = {}) => {
    // no-cache: the browser revalidates (cheap, by ETag) so a new version is never served stale.
    const headers = { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...extra };
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, headers);
  };
  const shell = (c: Context) => sendAsset(c, index, { 'content-security-policy': SHELL_CSP, 'referrer-policy': 'no-referrer' });

  app.get('/', shell);
  app.get('/ui', shell);
  app.get('/ui/', shell);
  app.get('/ui/assets/vendor/:name', (c) => {
    const asset = assets.get(`vendor/${c.req.param('name')}`);
    return asset === undefined ? c.notFound() : sendAsset(c, asset);
  });
  app.get('/ui/assets/:name', (c) => {
    const asset = assets.get(c.req.param('name'));
    return asset === undefined || asset === index ? c.notFound() : sendAsset(c, asset);
  });

  mountQueuesBoard(app, deps, opts);
}

/**
 * bull-board over the nodes' BullMQ queues (queues-board.ts), loaded at the board's first request:
 * bull-board and what it brings (lodash, valibot, its routes) are several MB of an API process's
 * heap, and an API whose board nobody opens never holds them (docs/performance.md, `scale`).
 */
function mountQueuesBoard(app: Hono, deps: DashboardDeps, opts: Required<DashboardOptions>): void {
  let board: Promise<Hono> | undefined;
  const serve = async (c: Context) => {
    board ??= loadQueuesBoard().then(
      ({ createQueuesBoard }) => createQueuesBoard(deps, opts),
      (err: unknown) => {
        board = undefined; // tried again at the next request
        throw err;
      },
    );
    return (await board).fetch(c.req.raw, c.env);
  };
  app.all(QUEUES_BOARD_PATH, serve);
  app.all(`${QUEUES_BOARD_PATH}/*`, serve);
}

/** The board's module: required through tsx's CommonJS hook where ringpool's code runs so (registry/import-module.ts), imported else. */
function loadQueuesBoard(): Promise<typeof import('./queues-board.js')> {
  const require = typeScriptRequire(import.meta.url);
  return require !== undefined ? Promise.resolve(require('./queues-board.js') as typeof import('./queues-board.js')) : import('./queues-board.js');
}

/** Reads our files and uPlot's distribution into memory, keyed by the name they are served under. */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const add = (name: string, path: string, type: string) => {
    const body = readFileSync(path);
    assets.set(name, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"` });
  };
  for (const file of readdirSync(ASSETS_DIR)) {
    const ext = ASSET_NAME.exec(file)?.[1];
    if (ext !== undefined) add(file, join(ASSETS_DIR, file), CONTENT_TYPES[ext] as string);
  }
  // Resolved from node_modules, so the dashboard works offline and no file is copied into the repo.
  const require = createRequire(import.meta.url);
  add('vendor/uPlot.esm.js', require.resolve('uplot/dist/uPlot.esm.js'), CONTENT_TYPES.js as string);
  add('vendor/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), CONTENT_TYPES.css as string);
  return assets;
}

export interface NodeQueues {
  /** One BullMQ queue per registered worker node, created on first sight, closed when the node leaves. */
  list(): Promise<Queue[]>;
  close(): Promise<void>;
}

/**
 * The per-node queues, found from the worker registrations: what {@link DashboardDeps.queues}
 * wants. Queues share the connection of `workers` (they issue no blocking commands).
 */
export function createNodeQueues(workers: WorkerStore): NodeQueues {
  const queues = new Map<string, Queue>();
  return {
    async list() {
      const ids = (await workers.nodeIds()).sort();
      // A node that has left (its registration removed) leaves the board too.
      for (const [id, q] of queues) {
        if (!ids.includes(id)) {
          queues.delete(id);
          void q.close().catch(() => {});
        }
      }
      return ids.map((id) => {
        let q = queues.get(id);
        if (q === undefined) queues.set(id, (q = workers.queue(id)));
        return q;
      });
    },
    async close() {
      const all = [...queues.values()];
      queues.clear();
      await Promise.all(all.map((q) => q.close()));
    },
  };
}

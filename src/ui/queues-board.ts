// bull-board at /ui/queues over the nodes' BullMQ queues: loaded by routes.ts at the board's first request.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono, type MiddlewareHandler } from 'hono';
import { QUEUES_BOARD_PATH, type DashboardDeps, type DashboardOptions } from './routes.js';

/** bull-board over the nodes' BullMQ queues as an app of its own (routes under QUEUES_BOARD_PATH), its list refreshed when it is used and older than `queueRefreshMs`. */
export function createQueuesBoard(deps: DashboardDeps, opts: Required<DashboardOptions>): Hono {
  const app = new Hono();
  const serverAdapter = new HonoAdapter(serveStatic);
  serverAdapter.setBasePath(QUEUES_BOARD_PATH);
  const board = createBullBoard({
    queues: [],
    // @bull-board/hono 9.10.1 carries its own @bull-board/api 9.10.1, whose (private) types differ
    // from our 9.10.2's; the adapter uses only the shared interface, so the cast is sound.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: {
      uiConfig: {
        boardTitle: 'ringpool queues',
        boardLogo: { path: '/ui/assets/logo.svg', width: 28, height: 28 },
        favIcon: { default: '/ui/assets/logo.svg', alternative: '/ui/assets/logo.svg' },
        miscLinks: [{ text: 'ringpool dashboard', url: '/ui' }],
        hideDocsLink: true,
      },
    },
  });
  const adapters = new Map<Queue, BullMQAdapter>();
  let refreshedAt = -Infinity;
  let refreshing: Promise<void> | undefined;
  const refresh = async () => {
    const queues = await deps.queues();
    const current = queues.map((q) => {
      let a = adapters.get(q);
      if (a === undefined) adapters.set(q, (a = new BullMQAdapter(q, { readOnlyMode: opts.queuesReadOnly, description: 'worker node queue' })));
      return a;
    });
    for (const q of adapters.keys()) if (!queues.includes(q)) adapters.delete(q);
    board.replaceQueues(current);
    refreshedAt = Date.now();
  };
  const refreshQueues: MiddlewareHandler = async (_c, next) => {
    if (Date.now() - refreshedAt >= opts.queueRefreshMs) {
      // One refresh at a time: the board's page fires several requests at once.
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      await refreshing;
    }
    await next();
  };
  app.use(QUEUES_BOARD_PATH, refreshQueues);
  app.use(`${QUEUES_BOARD_PATH}/*`, refreshQueues);
  // bull-board's entry page is served at its base path with and without the trailing slash.
  const plugin = serverAdapter.registerPlugin();
  app.route(QUEUES_BOARD_PATH, plugin);
  app.get(`${QUEUES_BOARD_PATH}/`, (c) => c.redirect(QUEUES_BOARD_PATH, 302));
  return app;
}

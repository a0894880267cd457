// The scheduler's Raft node in a worker thread of its own: heartbeats, votes and their HTTP never wait for the scheduler's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { serve, type ServerType } from '@hono/node-server';
import { serializeError, type SerializedError } from '../errors.js';
import { RaftDriver, type RaftStatus } from '../raft/driver.js';
import { FileStorage } from '../raft/file-storage.js';
import type { RaftTransport } from '../raft/transport.js';
import type { Member, NodeId, RaftMessage } from '../raft/types.js';
import { ControlState, type ControlCommand, type ControlSnapshot } from '../scheduler/control-state.js';
import { HEADER_DIRECT_PORT, HttpRaftTransport, createRaftRoutes, type RaftRouteStats } from '../transport/raft-http.js';

/** What the scheduler's main thread gives the Raft thread to start with. */
export interface ConsensusThreadData {
  readonly id: NodeId;
  readonly dir: string;
  readonly members: readonly Member[];
  /** Where the node's HTTP server listens: the Raft thread's own listener takes the same host, any free port. */
  readonly host: string;
  /** The Raft thread's own port (Config.raftDirectPort): 0 any free one, `off` none. */
  readonly directPort: number | 'off';
  readonly secret?: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly quorumTicks: number;
}

/** Main thread → Raft thread. */
export type ToConsensusThread =
  | { readonly type: 'propose'; readonly id: number; readonly command: ControlCommand }
  | { readonly type: 'hand-over'; readonly id: number }
  | { readonly type: 'may-lead'; readonly mayLead: boolean }
  | { readonly type: 'inbound'; readonly id: number; readonly url: string; readonly headers: Record<string, string>; readonly body: string }
  | { readonly type: 'stop'; readonly id: number };

export interface ConsensusThreadStatus {
  readonly raft: RaftStatus;
  readonly members: readonly Member[];
  readonly routes: Omit<RaftRouteStats, never>;
}

/** Raft thread → main thread, in the order things happened there. */
export type FromConsensusThread =
  | { readonly type: 'started'; readonly status: ConsensusThreadStatus; readonly truncatedBytes: number; readonly directPort: number | undefined }
  | { readonly type: 'failed'; readonly error: SerializedError; readonly storage: boolean }
  /** A committed command, applied here: the main thread applies it to its own ControlState. */
  | { readonly type: 'apply'; readonly command: ControlCommand }
  | { readonly type: 'restore'; readonly data: ControlSnapshot }
  | { readonly type: 'status'; readonly status: ConsensusThreadStatus }
  | { readonly type: 'leader'; readonly leaderId: NodeId | undefined; readonly term: number; readonly isMe: boolean; readonly status: ConsensusThreadStatus }
  | { readonly type: 'done'; readonly id: number; readonly value?: unknown; readonly error?: SerializedError }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly fields: object; readonly message: string };

/** The `done` value of an `inbound`: the HTTP response to give the peer. */
export interface InboundAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends through `inner`, except the messages for the peer whose batch is being received: those are
 * collected and go back in that request's response (createRaftRoutes: `receive`).
 */
class AnsweringTransport implements RaftTransport {
  readonly #inner: HttpRaftTransport;
  #answering: { readonly peer: NodeId; readonly messages: RaftMessage[] } | undefined;

  constructor(inner: HttpRaftTransport) {
    this.#inner = inner;
  }

  answer(peer: NodeId, receive: () => void): RaftMessage[] {
    const answering = { peer, messages: [] as RaftMessage[] };
    this.#answering = answering;
    try {
      receive();
    } finally {
      this.#answering = undefined;
    }
    return answering.messages;
  }

  send(to: NodeId, messages: readonly RaftMessage[]): void {
    if (this.#answering?.peer === to) this.#answering.messages.push(...messages);
    else this.#inner.send(to, messages);
  }

  setPeers(members: readonly Member[]): void {
    this.#inner.setPeers(members);
  }

  close(): void {
    this.#inner.close();
  }
}

/** How often a status that changed only in its peers' last contact is sent to the main thread. */
const STATUS_REFRESH_MS = 1000;

/** Sends the status when what the scheduler reads in it changed, or a second after the last. */
function statusPoster(current: () => ConsensusThreadStatus | undefined, post: (message: FromConsensusThread) => void): () => void {
  let lastKey = '';
  let lastAt = 0;
  return () => {
    const s = current();
    if (s === undefined) return;
    const r = s.raft;
    const key = `${r.role} ${r.term} ${r.leaderId ?? ''} ${r.commitIndex} ${r.appliedIndex} ${s.members.length}`;
    const now = performance.now();
    if (key === lastKey && now - lastAt < STATUS_REFRESH_MS) return;
    lastKey = key;
    lastAt = now;
    post({ type: 'status', status: s });
  };
}

/** Starts the node: storage, transport, routes, driver; then its own listener, then the main thread's requests. */
function run(data: ConsensusThreadData, port: NonNullable<typeof parentPort>): void {
  const post = (message: FromConsensusThread) => port.postMessage(message);
  const log = (level: 'info' | 'warn' | 'error', fields: object, message: string) => post({ type: 'log', level, fields, message });
  let storage: FileStorage;
  try {
    storage = new FileStorage({ dir: data.dir });
  } catch (err) {
    post({ type: 'failed', error: serializeError(err), storage: (err as NodeJS.ErrnoException).code !== undefined });
    return;
  }
  const control = new ControlState();
  let driver: RaftDriver<ControlCommand> | undefined;
  const http = new HttpRaftTransport({
    id: data.id,
    peers: Object.fromEntries(data.members.map((m) => [m.id, m.address as string])),
    ...(data.secret === undefined ? {} : { secret: data.secret }),
    onReply: (messages) => driver?.receive(messages),
  });
  const transport = new AnsweringTransport(http);
  const routes = createRaftRoutes({
    id: data.id,
    receive: (messages, from) => transport.answer(from, () => driver?.receive(messages)),
    onPeerDirectPort: (from, directPort) => http.learnDirectPort(from, directPort),
    ...(data.secret === undefined ? {} : { secret: data.secret }),
  });
  const status = (): ConsensusThreadStatus => {
    const d = driver as RaftDriver<ControlCommand>;
    const s = routes.stats;
    return {
      raft: d.status(),
      members: d.members(),
      routes: { accepted: s.accepted, rejectedUnauthenticated: s.rejectedUnauthenticated, rejectedReplayed: s.rejectedReplayed, rejectedMalformed: s.rejectedMalformed, rejected: s.rejected },
    };
  };
  const postStatus = statusPoster(() => (driver === undefined ? undefined : status()), post);
  try {
    driver = new RaftDriver<ControlCommand>({
      id: data.id,
      storage,
      transport,
      bootstrap: data.members,
      tickMs: data.tickMs,
      electionTicks: data.electionTicks,
      heartbeatTicks: data.heartbeatTicks,
      quorumTicks: data.quorumTicks,
      apply: (command) => {
        control.apply(command);
        post({ type: 'apply', command });
      },
      snapshot: () => control.snapshot(),
      restore: (snapshot) => {
        control.restore(snapshot as ControlSnapshot);
        post({ type: 'restore', data: snapshot as ControlSnapshot });
      },
      onProcessed: postStatus,
      onError: (err) => log('error', { err: serializeError(err) }, 'Raft driver stopped'),
    });
  } catch (err) {
    post({ type: 'failed', error: serializeError(err), storage: false });
    return;
  }
  const raft = driver;
  raft.onLeaderChange((leaderId, term, isMe) => post({ type: 'leader', leaderId, term, isMe, status: status() }));
  raft.start();
  void listenDirect(routes.fetch, data.host, data.directPort, log).then(({ server, port: directPort }) => {
    if (directPort !== undefined) http.advertiseDirectPort(directPort);
    post({ type: 'started', status: status(), truncatedBytes: storage.recovery.truncatedBytes, directPort });
    serveMainThread(port, raft, routes.fetch, server, directPort, post);
  });
}

/**
 * Peers post here once an answer through the node's server told them the port (HEADER_DIRECT_PORT):
 * then no message to this node waits for its main thread's event loop. Without it (it cannot
 * listen) they keep using the node's server, which hands each batch to this thread.
 */
function listenDirect(fetch: (request: Request) => Response | Promise<Response>, host: string, wanted: number | 'off', log: (level: 'warn', fields: object, message: string) => void): Promise<{ server: ServerType | undefined; port: number | undefined }> {
  if (wanted === 'off') return Promise.resolve({ server: undefined, port: undefined });
  return new Promise((resolveListening) => {
    const cannot = (err: unknown) => {
      log('warn', { err: serializeError(err) }, 'the Raft thread cannot listen; peers reach it through the node server');
      resolveListening({ server: undefined, port: undefined });
    };
    try {
      const server = serve({ fetch, hostname: host, port: wanted }, (info) => resolveListening({ server, port: info.port }));
      server.once('error', cannot);
    } catch (err) {
      cannot(err);
    }
  });
}

/** Takes the main thread's requests (ToConsensusThread); each with an id is settled by a `done`. */
function serveMainThread(
  port: NonNullable<typeof parentPort>,
  raft: RaftDriver<ControlCommand>,
  fetch: (request: Request) => Response | Promise<Response>,
  server: ServerType | undefined,
  directPort: number | undefined,
  post: (message: FromConsensusThread) => void,
): void {
  const settle = (id: number, work: Promise<unknown>) =>
    work.then(
      (value) => post({ type: 'done', id, value }),
      (err: unknown) => post({ type: 'done', id, error: serializeError(err) }),
    );
  const inbound = async (m: { url: string; headers: Record<string, string>; body: string }): Promise<InboundAnswer> => {
    const res = await fetch(new Request(m.url, { method: 'POST', headers: m.headers, body: m.body }));
    return {
      status: res.status,
      headers: { ...Object.fromEntries(res.headers), ...(directPort === undefined ? {} : { [HEADER_DIRECT_PORT]: String(directPort) }) },
      body: await res.text(),
    };
  };
  const closeServer = () =>
    new Promise<void>((closed) => {
      if (server === undefined) return closed();
      server.close(() => closed());
      // Peers' kept-alive connections would hold the close up.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  port.on('message', (m: ToConsensusThread) => {
    switch (m.type) {
      case 'propose':
        void settle(m.id, raft.propose(m.command));
        break;
      case 'may-lead':
        raft.setMayLead(m.mayLead);
        break;
      case 'hand-over':
        void settle(m.id, raft.isLeader && raft.members().length >= 2 ? raft.transferLeadership() : Promise.resolve(undefined));
        break;
      case 'inbound':
        void settle(m.id, inbound(m));
        break;
      case 'stop':
        void settle(m.id, raft.stop().then(closeServer));
        break;
    }
  });
}

if (parentPort !== null && workerData !== undefined) run(workerData as ConsensusThreadData, parentPort);

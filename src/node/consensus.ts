// Runs the scheduler's Raft node in a thread of its own (consensus-thread.ts), mirrors its state here, and reports its status.
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { SchedulerView } from '../api/cluster-view.js';
import type { Config } from '../config/config.js';
import { deserializeError, RingpoolError, type SerializedError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RaftStatus } from '../raft/driver.js';
import { threadEntry } from '../registry/thread-code.js';
import type { Member } from '../raft/types.js';
import type { ConsensusNode, ConsensusStatus } from '../scheduler/consensus.js';
import { ControlState, type ControlCommand } from '../scheduler/control-state.js';
import type { SchedulerStatuses } from '../store/scheduler-statuses.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';
import { HEADER_DIRECT_PORT, type RaftRouteStats } from '../transport/raft-http.js';
import type { ConsensusThreadData, ConsensusThreadStatus, FromConsensusThread, InboundAnswer, ToConsensusThread } from './consensus-thread.js';

const CONSENSUS_ENTRY = new URL('./consensus-entry.cjs', import.meta.url);

/**
 * Raft's timing (docs/architecture.md, "Raft in a thread of its own"): a 10 ms tick, a heartbeat every 50 ms, an election
 * timeout drawn from [150, 300) ms, as the Raft thesis measured (§9.3). The driver wakes only for
 * ticks that act (a follower at its timeout, a leader at its heartbeats), so the small tick costs
 * nothing while idle. Safe on a loaded machine only because the node runs in a thread of its own
 * and hears its peers on its own port. A leader steps down when no majority answered for 600 ms
 * (check-quorum): a slow answer on a loaded machine does not cost an election.
 */
export const RAFT_TIMING = Object.freeze({ tickMs: 10, electionTicks: 15, heartbeatTicks: 5, quorumTicks: 60 });

export interface Consensus {
  readonly node: ConsensusNode;
  readonly control: ControlState;
  /** `/raft/*`: served apart from the API's bearer auth (Raft messages carry an HMAC instead). */
  readonly routes: { readonly fetch: (request: Request) => Promise<Response>; readonly stats: RaftRouteStats };
  /** Whether this node leads, as last told by its Raft thread. */
  readonly isLeader: boolean;
  /** Whether this node may become leader (RaftCore.setMayLead); a leader that may not should hand over. */
  setMayLead(mayLead: boolean): void;
  /** On SIGTERM: hand leadership to the most up-to-date follower first (graceful hand-over). */
  handOver(): Promise<void>;
  close(): Promise<void>;
}

/** `id=url` pairs of --peers; a lone scheduler is a group of one at its own URL. */
export function raftMembers(config: Config, selfUrl: string): Member[] {
  if (config.peers.length === 0) return [{ id: config.schedulerId, address: selfUrl }];
  const members = config.peers.map((p) => {
    const at = p.indexOf('=');
    return { id: p.slice(0, at), address: p.slice(at + 1) };
  });
  if (!members.some((m) => m.id === config.schedulerId)) {
    throw new RingpoolError('CONFIG', `--peers must include this scheduler's own id "${config.schedulerId}" (--id); got ${members.map((m) => m.id).join(', ')}`);
  }
  return members;
}

/**
 * Starts this scheduler's Raft node in a worker thread of its own (src/node/consensus-thread.ts), so
 * a busy event loop here (a split, a reduce's bookkeeping, HTTP) delays no heartbeat, vote or
 * answer: those are sent, received and answered there. This thread keeps what the scheduler reads:
 * a mirror of the node's status, told of every change, and a ControlState that applies the same
 * committed commands in the same order. Resolves once the node has started and this ControlState
 * holds everything committed before (the write-ahead file's contents).
 */
export async function startConsensus(args: { config: Config; selfUrl: string; logger: Logger; metrics?: Metrics; timing?: Partial<Record<keyof typeof RAFT_TIMING, number>> }): Promise<Consensus> {
  const { config, logger, metrics } = args;
  const members = raftMembers(config, args.selfUrl);
  const data: ConsensusThreadData = {
    id: config.schedulerId,
    dir: join(resolve(config.dataDir), 'raft', config.schedulerId),
    members,
    host: config.host,
    directPort: config.raftDirectPort,
    ...(config.clusterSecret ? { secret: config.clusterSecret } : {}),
    ...RAFT_TIMING,
    ...args.timing,
  };
  return await new RaftThread(data, config.dataDir, logger, metrics).started;
}

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };

/** The main thread's side of the Raft thread: requests by message, and the mirror of what it tells. */
class RaftThread {
  readonly #worker: Worker;
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #control = new ControlState();
  readonly #leaderListeners = new Set<(leaderId: string, term: number, isMe: boolean) => void>();
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #status: ConsensusThreadStatus | undefined;
  #stopped = false;
  #directPort: number | undefined;
  readonly started: Promise<Consensus>;

  constructor(data: ConsensusThreadData, dataDir: string, logger: Logger, metrics: Metrics | undefined) {
    this.#logger = logger;
    this.#metrics = metrics;
    // The Raft thread is small: its young generation need not grow as a scheduler's does.
    this.#worker = new Worker(threadEntry(CONSENSUS_ENTRY), { workerData: data, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    this.started = new Promise<Consensus>((resolveStarted, rejectStarted) => {
      this.#worker.on('message', (m: FromConsensusThread) => {
        if (m.type === 'started') {
          this.#status = m.status;
          this.#directPort = m.directPort;
          logger.debug({ directPort: m.directPort }, 'Raft thread started');
          if (m.truncatedBytes > 0) logger.warn({ recovery: { truncatedBytes: m.truncatedBytes } }, 'the Raft write-ahead file had a torn or corrupted tail: truncated');
          resolveStarted(this.#consensus());
        } else if (m.type === 'failed') {
          void this.#worker.terminate();
          const err = deserializeError(m.error);
          // A file-system refusal (not a directory, no permission, read-only, full) is the operator's to fix.
          rejectStarted(m.storage ? new RingpoolError('CONFIG', `--data-dir ${JSON.stringify(dataDir)} cannot hold the Raft log (${err.message}): give a writable directory`) : new RingpoolError('CONFIG', err.message));
        } else this.#onMessage(m);
      });
      this.#worker.on('error', (err) => {
        rejectStarted(err);
        this.#lost(err);
      });
      this.#worker.on('exit', (code) => {
        rejectStarted(new RingpoolError('INTERNAL', `the Raft thread exited (${code}) before it started`));
        if (!this.#stopped) this.#lost(new RingpoolError('INTERNAL', `the Raft thread exited (${code})`));
      });
    });
  }

  #consensus(): Consensus {
    const thread = this;
    return {
      node: {
        status: () => toConsensusStatus(this.#raftStatus()),
        propose: (command) => this.#request({ type: 'propose', id: 0, command: command as ControlCommand }) as Promise<{ index: number; term: number }>,
        onLeaderChange: (listener) => {
          this.#leaderListeners.add(listener);
          return () => this.#leaderListeners.delete(listener);
        },
      },
      control: this.#control,
      routes: {
        fetch: (request) => this.#inbound(request),
        get stats() {
          return thread.#status?.routes ?? { accepted: 0, rejectedUnauthenticated: 0, rejectedReplayed: 0, rejectedMalformed: 0, rejected: 0 };
        },
      },
      get isLeader() {
        return thread.#raftStatus().role === 'leader';
      },
      setMayLead: (mayLead) => this.#post({ type: 'may-lead', mayLead }),
      handOver: async () => {
        try {
          const to = await this.#request({ type: 'hand-over', id: 0 });
          if (to !== undefined) this.#logger.info({ to }, 'leadership handed over');
        } catch (err) {
          this.#logger.warn({ err }, 'leadership hand-over failed; the followers will elect a leader after the election timeout');
        }
      },
      close: () => this.#close(),
    };
  }

  #raftStatus(): RaftStatus {
    return (this.#status as ConsensusThreadStatus).raft;
  }

  #onMessage(m: FromConsensusThread): void {
    switch (m.type) {
      case 'apply':
        this.#control.apply(m.command);
        break;
      case 'restore':
        this.#control.restore(m.data);
        break;
      case 'status':
        this.#status = m.status;
        break;
      case 'leader': {
        this.#status = m.status;
        this.#logger.info({ leaderId: m.leaderId, term: m.term, isMe: m.isMe }, 'Raft leader changed');
        this.#metrics?.leaderChanges.inc();
        this.#metrics?.raftTerm.set(m.term);
        this.#metrics?.raftIsLeader.set(m.isMe ? 1 : 0);
        for (const listener of this.#leaderListeners) {
          try {
            listener(m.leaderId ?? '', m.term, m.isMe);
          } catch (err) {
            this.#logger.error({ err }, 'a Raft leader-change listener failed');
          }
        }
        break;
      }
      case 'done': {
        const pending = this.#pending.get(m.id);
        if (pending === undefined) break;
        this.#pending.delete(m.id);
        if (m.error === undefined) pending.resolve(m.value);
        else pending.reject(deserializeError(m.error));
        break;
      }
      case 'log':
        this.#logger[m.level](m.fields, m.message);
        break;
      default:
        break;
    }
  }

  /** The Raft thread died: this node no longer leads (so it schedules nothing), and says why. */
  #lost(err: Error): void {
    this.#logger.error({ err }, 'the Raft thread stopped; this scheduler takes no part in Raft until it restarts');
    const was = this.#status?.raft;
    if (was !== undefined) this.#status = { ...(this.#status as ConsensusThreadStatus), raft: { ...was, role: 'follower', leaderId: undefined } };
    this.#failPending(new RingpoolError('CANCELLED', `the Raft thread stopped: ${err.message}`));
    if (was?.role === 'leader') for (const listener of this.#leaderListeners) listener('', was.term, false);
  }

  #failPending(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #post(message: ToConsensusThread): void {
    if (!this.#stopped) this.#worker.postMessage(message);
  }

  #request(message: ToConsensusThread & { id: number }): Promise<unknown> {
    if (this.#stopped) return Promise.reject(new RingpoolError('CANCELLED', 'the Raft node is stopped'));
    const id = ++this.#nextId;
    return new Promise<unknown>((resolveRequest, rejectRequest) => {
      this.#pending.set(id, { resolve: resolveRequest, reject: rejectRequest });
      this.#worker.postMessage({ ...message, id });
    });
  }

  /** A peer's POST /raft/message: its body goes to the Raft thread, which checks and answers it. */
  async #inbound(request: Request): Promise<Response> {
    // A peer asking where this node's Raft thread listens (HttpRaftTransport's probe): answered here.
    if (request.method === 'GET') return new Response(null, { status: 204, headers: this.#directPort === undefined ? {} : { [HEADER_DIRECT_PORT]: String(this.#directPort) } });
    const body = await request.text();
    const headers = Object.fromEntries(request.headers);
    try {
      const answer = (await this.#request({ type: 'inbound', id: 0, url: request.url, headers, body })) as InboundAnswer;
      return new Response(answer.status === 204 ? null : answer.body, { status: answer.status, headers: answer.headers });
    } catch {
      return new Response(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'the Raft node is stopped' } }), { status: 503, headers: { 'content-type': 'application/json' } });
    }
  }

  async #close(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#request({ type: 'stop', id: 0 });
    } catch {
      // stopped already (the thread died): nothing to wait for
    }
    this.#stopped = true;
    this.#failPending(new RingpoolError('CANCELLED', 'the Raft node stopped'));
    await this.#worker.terminate();
  }
}

function toConsensusStatus(s: RaftStatus): ConsensusStatus {
  return {
    id: s.id,
    role: s.role,
    term: s.term,
    leaderId: s.leaderId ?? '',
    commitIndex: s.commitIndex,
    appliedIndex: s.appliedIndex,
    peers: s.peers.map((p) => ({ id: p.id, ...(p.url ? { url: p.url } : {}), ...(p.lastContactMs === undefined ? {} : { lastContactMs: p.lastContactMs }), ...(p.matchIndex === undefined ? {} : { matchIndex: p.matchIndex }) })),
  };
}

/** A published status older than this counts as stale on the API's side (node/cluster-view.ts: 5 s); written again at least this often. */
const STATUS_KEEPALIVE_MS = 2000;
/** Changes are written at most this often (a busy leader's backlog changes with every sample). */
const STATUS_MIN_GAP_MS = 500;

export interface StatusPublisher {
  /** Something in the status may have changed (a backlog sample): written if it did, within 500 ms. */
  poke(): void;
  stop(): void;
}

/**
 * Every scheduler writes its Raft status to Redis, so any API node can show the whole group (GET
 * /v1/cluster) without reaching the schedulers itself: when it changes (a leader elected, the
 * committed members, the leader's backlog signal: at most every 500 ms) and at least every 2 s.
 * An idle scheduler writes once in 2 s and wakes for nothing else (docs/performance.md, "Round two").
 */
export function publishSchedulerStatus(statuses: SchedulerStatuses, node: ConsensusNode, url: string, control: ControlState, keepAliveMs = STATUS_KEEPALIVE_MS, extra: () => object = () => ({})): StatusPublisher {
  let lastKey = '';
  let lastAt = 0;
  let pending: NodeJS.Timeout | undefined;
  const publish = () => {
    clearTimeout(pending);
    pending = undefined;
    const s = node.status();
    const { members, ringVersion } = control.snapshot();
    const view: SchedulerView & { leaderId: string; at: number } = {
      id: s.id,
      role: s.role,
      term: s.term,
      commitIndex: s.commitIndex,
      lastContactMs: null,
      url,
      leaderId: s.leaderId,
      at: Date.now(),
    };
    // The committed ring membership travels too: the API draws the ring the leader places by.
    // And what the leader adds (its backlog signal, docs/operations.md "Autoscaling").
    const body = { ...view, peers: s.peers, members, ringVersion, ...extra() };
    // What changed, without the times: the peers' last contact (it moves with every heartbeat) and `at`s.
    const key = JSON.stringify(body, (k, v: unknown) => (k === 'at' || k === 'lastContactMs' ? undefined : v));
    // Three quarters: the keep-alive timer runs on the idle grid, which may fire it a little early.
    if (key === lastKey && view.at - lastAt < keepAliveMs * 0.75) return;
    lastKey = key;
    lastAt = view.at;
    statuses.publish(s.id, body).catch(() => {
      lastKey = ''; // written again at the next look
    });
  };
  let queued = false;
  let stopped = false;
  const poke = () => {
    if (pending !== undefined || queued) return;
    const waitMs = lastAt + STATUS_MIN_GAP_MS - Date.now();
    if (waitMs > 0) {
      pending = setTimeout(publish, waitMs);
      return;
    }
    // Due already (an idle leader's backlog sample, seconds apart): once the caller is done, in
    // this turn of the event loop, not in a timer's (one wake-up less for an idle node).
    queued = true;
    queueMicrotask(() => {
      queued = false;
      if (!stopped && pending === undefined) publish();
    });
  };
  publish();
  // On the idle grid (with the process's other idle loops) when the period fits it.
  const stopKeepAlive = keepAliveMs % IDLE_GRID_MS === 0 ? idleGrid.every(keepAliveMs, publish) : clearInterval.bind(null, setInterval(publish, keepAliveMs));
  const unsubscribe = [node.onLeaderChange(() => poke()), control.onChange(() => poke())];
  return {
    poke,
    stop: () => {
      stopped = true;
      stopKeepAlive();
      clearTimeout(pending);
      for (const u of unsubscribe) u();
    },
  };
}

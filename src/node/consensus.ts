// Wires the Raft driver (file storage, HTTP transport) to the scheduler's control state, and reports its status.
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { SchedulerView } from '../api/cluster-view.js';
import type { Config } from '../config/config.js';
import { RingpoolError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { RaftDriver } from '../raft/driver.js';
import { FileStorage } from '../raft/file-storage.js';
import type { Member } from '../raft/types.js';
import type { ConsensusNode, ConsensusStatus } from '../scheduler/consensus.js';
import { ControlState, type ControlCommand, type ControlSnapshot } from '../scheduler/control-state.js';
import type { SchedulerStatuses } from '../store/scheduler-statuses.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';
import { HttpRaftTransport, createRaftRoutes, type RaftRoutes } from '../transport/raft-http.js';

export interface Consensus {
  readonly node: ConsensusNode;
  readonly driver: RaftDriver<ControlCommand>;
  readonly control: ControlState;
  /** `/raft/*`: served apart from the API's bearer auth (Raft messages carry an HMAC instead). */
  readonly routes: RaftRoutes;
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

export function startConsensus(args: { config: Config; selfUrl: string; logger: Logger; metrics?: Metrics }): Consensus {
  const { config, logger, metrics } = args;
  const control = new ControlState();
  const dir = join(resolve(config.dataDir), 'raft', config.schedulerId);
  let storage: FileStorage;
  try {
    storage = new FileStorage({ dir });
  } catch (err) {
    // A file-system refusal (not a directory, no permission, read-only, full) is the operator's to fix.
    if ((err as NodeJS.ErrnoException).code === undefined) throw err;
    throw new RingpoolError('CONFIG', `--data-dir ${JSON.stringify(config.dataDir)} cannot hold the Raft log (${(err as Error).message}): give a writable directory`);
  }
  if (storage.recovery.truncatedBytes > 0) logger.warn({ recovery: storage.recovery }, 'the Raft write-ahead file had a torn or corrupted tail: truncated');
  const members = raftMembers(config, args.selfUrl);
  const secret = config.clusterSecret ? { secret: config.clusterSecret } : {};
  const transport = new HttpRaftTransport({ id: config.schedulerId, peers: Object.fromEntries(members.map((m) => [m.id, m.address as string])), ...secret });
  const driver: RaftDriver<ControlCommand> = new RaftDriver<ControlCommand>({
    id: config.schedulerId,
    storage,
    transport,
    bootstrap: members,
    apply: (command) => control.apply(command),
    snapshot: () => control.snapshot(),
    restore: (data) => control.restore(data as ControlSnapshot),
    onError: (err) => logger.error({ err }, 'Raft driver stopped'),
  });
  const routes = createRaftRoutes({ id: config.schedulerId, receive: (messages) => driver.receive(messages), ...secret });
  driver.onLeaderChange((leaderId, term, isMe) => {
    logger.info({ leaderId, term, isMe }, 'Raft leader changed');
    metrics?.leaderChanges.inc();
    metrics?.raftTerm.set(term);
    metrics?.raftIsLeader.set(isMe ? 1 : 0);
  });
  driver.start();
  const node: ConsensusNode = {
    status: () => toConsensusStatus(driver),
    propose: (command) => driver.propose(command as ControlCommand),
    onLeaderChange: (listener) => driver.onLeaderChange((leaderId, term, isMe) => listener(leaderId ?? '', term, isMe)),
  };
  return {
    node,
    driver,
    control,
    routes,
    async handOver() {
      if (!driver.isLeader || driver.members().length < 2) return;
      try {
        const to = await driver.transferLeadership();
        logger.info({ to }, 'leadership handed over');
      } catch (err) {
        logger.warn({ err }, 'leadership hand-over failed; the followers will elect a leader after the election timeout');
      }
    },
    async close() {
      await driver.stop();
      await transport.close?.();
    },
  };
}

function toConsensusStatus(driver: RaftDriver<ControlCommand>): ConsensusStatus {
  const s = driver.status();
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

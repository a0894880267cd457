// A Redis connection that cannot stay dead: revived when ioredis gives it up, replaced when it stops answering.
import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectionState } from '../api/readiness.js';
import { RingpoolError } from '../errors.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';

export interface SupervisionOptions {
  /**
   * How long a ready connection may go without hearing from Redis before it is asked PING, ms: a
   * silent Redis is found within this plus `probeTimeoutMs`. Every PING costs CPU on an idle node
   * (docs/performance.md), so a connection that answered anything within it is not asked.
   * @default 2500
   */
  readonly probeMs?: number;
  /**
   * A PING unanswered this long replaces the connection, ms. Longer than anything that may queue
   * ahead of it on a healthy connection: a WAIT (2 s), a blocking pop (2 s). @default 5000
   */
  readonly probeTimeoutMs?: number;
  /** Told of each repair (for the log and the metrics). */
  readonly onRepair?: (repair: ConnectionRepair) => void;
}

export interface ConnectionRepair {
  readonly connection: string;
  /** `ended`: ioredis gave the connection up (status `end`); `unanswered`: it stopped answering PING. */
  readonly cause: 'ended' | 'unanswered';
  /** How long before the new attempt, ms. */
  readonly delayMs: number;
}

const DEFAULTS = Object.freeze({ probeMs: 2500, probeTimeoutMs: 5000 });

/**
 * One timer for every supervised connection of the process, instead of one each: an idle process
 * wakes twice per period for all its connections (docs/performance.md, "Round two"). It runs every
 * half of the shortest `probeMs` among them (so a silent connection is asked within 1.5 periods and
 * a silent Redis found within 2 periods plus `probeTimeoutMs`, as one timer each found it), and
 * only while one is open.
 */
class Probes {
  readonly #members = new Set<SupervisedRedis>();
  /** Told after each round: checks of the connections' health (the leadership guard) ride on this timer. */
  readonly #listeners = new Set<() => void>();
  #stop: (() => void) | undefined;
  #everyMs = Infinity;

  add(connection: SupervisedRedis, everyMs: number): void {
    this.#members.add(connection);
    if (everyMs < this.#everyMs) {
      this.#everyMs = everyMs;
      this.#stop?.();
      this.#stop = undefined;
    }
    if (this.#stop !== undefined) return;
    const round = () => {
      const now = Date.now();
      for (const c of this.#members) c.probe(now);
      for (const listener of this.#listeners) listener();
    };
    const periodMs = Math.max(5, Math.floor(this.#everyMs / 2));
    if (periodMs >= 2 * IDLE_GRID_MS) {
      // On the idle grid, with the process's other idle loops: the period rounded down to the grid
      // step (1,250 → 1,000 ms by default), so a connection is asked no later than before.
      this.#stop = idleGrid.every(periodMs - (periodMs % IDLE_GRID_MS), round, { ref: false });
    } else {
      const timer = setInterval(round, periodMs).unref();
      this.#stop = () => clearInterval(timer);
    }
  }

  /** Calls `listener` after each round of probes (every half `probeMs`, while a connection is open). */
  onRound(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  delete(connection: SupervisedRedis): void {
    this.#members.delete(connection);
    if (this.#members.size > 0) return;
    this.#stop?.();
    this.#stop = undefined;
    this.#everyMs = Infinity;
  }
}

const probes = new Probes();
const REVIVE_BASE_MS = 100;
const REVIVE_MAX_MS = 2000;

/**
 * ioredis reconnects by itself after most failures, but not after all: a connector that fails
 * mid-connect leaves the client in status `end` for good (see sentinel-connector.ts for one such
 * path), and a socket whose peer vanished without a word (a frozen host, a partition) keeps
 * commands waiting for ever. Neither heals on its own, and a process holding such a connection
 * looks alive while doing nothing. This one is connected again after an `end` nobody asked for
 * (jittered back-off), and dropped and reconnected when a PING goes unanswered for
 * `probeTimeoutMs`; what was subscribed is subscribed again by ioredis itself. Only `disconnect()`
 * ends it for good.
 */
export class SupervisedRedis extends Redis {
  readonly label: string;
  readonly #probeTimeoutMs: number;
  readonly #onRepair: ((repair: ConnectionRepair) => void) | undefined;
  readonly #probeMs: number;
  /** When Redis last sent anything on this connection (a reply, a message), ms since the epoch. */
  #heardAt = 0;
  #retired = false;
  #revive: NodeJS.Timeout | undefined;
  #revivals = 0;
  /** When the outstanding PING was sent; undefined when none is. */
  #probeSentAt: number | undefined;
  /** Which connection a PING was sent on: an answer from an earlier one proves nothing. */
  #epoch = 0;
  #unhealthySince: number | undefined = Date.now();

  constructor(label: string, url: string | undefined, options: RedisOptions, supervision: SupervisionOptions = {}) {
    const probeMs = supervision.probeMs ?? DEFAULTS.probeMs;
    const probeTimeoutMs = supervision.probeTimeoutMs ?? DEFAULTS.probeTimeoutMs;
    if (!Number.isInteger(probeMs) || probeMs < 10) throw new RingpoolError('CONFIG', `probeMs must be an integer >= 10, got ${probeMs}`);
    if (!Number.isInteger(probeTimeoutMs) || probeTimeoutMs < probeMs) throw new RingpoolError('CONFIG', `probeTimeoutMs must be an integer >= probeMs (${probeMs}), got ${probeTimeoutMs}`);
    super(url as string, options); // ioredis passes over an undefined first argument: options alone
    this.label = label;
    this.#probeMs = probeMs;
    this.#probeTimeoutMs = probeTimeoutMs;
    this.#onRepair = supervision.onRepair;
    this.on('ready', () => {
      this.#epoch++;
      this.#probeSentAt = undefined;
      this.#revivals = 0;
      this.#unhealthySince = undefined;
      this.#heardAt = Date.now();
    });
    // Any bytes from Redis prove it answers: such a connection needs no PING (one listener per socket).
    this.on('connect', () => {
      const stream = this.stream as unknown as { on?: (event: string, listener: () => void) => void } | undefined;
      stream?.on?.('data', () => {
        this.#heardAt = Date.now();
      });
    });
    this.on('close', () => this.#markUnhealthy());
    this.on('end', () => this.#onEnd());
    probes.add(this, probeMs);
  }

  /** Ready, and answering: no PING outstanding for longer than `probeTimeoutMs`. */
  health(now = Date.now()): ConnectionState {
    const since = this.#unhealthySince ?? (this.#probeSentAt !== undefined && now - this.#probeSentAt > this.#probeTimeoutMs ? this.#probeSentAt : undefined);
    const healthy = !this.#retired && this.status === 'ready' && since === undefined;
    return { name: this.label, status: this.#retired ? 'closed' : this.status, healthy, unhealthyForMs: healthy ? 0 : now - (since ?? now) };
  }

  /** Ends the connection for good (`reconnect`: drops it and connects again, as ioredis does). */
  override disconnect(reconnect = false): void {
    if (!reconnect) {
      this.#retired = true;
      probes.delete(this);
      clearTimeout(this.#revive);
    }
    super.disconnect(reconnect);
  }

  #markUnhealthy(): void {
    this.#unhealthySince ??= Date.now();
  }

  #onEnd(): void {
    this.#markUnhealthy();
    if (this.#retired) return;
    // Jittered, so the connections of many processes do not all knock at once after a failover.
    const delayMs = Math.round(Math.min(REVIVE_BASE_MS * 2 ** this.#revivals++, REVIVE_MAX_MS) * (0.5 + Math.random() / 2));
    this.#onRepair?.({ connection: this.label, cause: 'ended', delayMs });
    clearTimeout(this.#revive);
    this.#revive = setTimeout(() => {
      if (!this.#retired && this.status === 'end') this.connect().catch(() => {}); // a failure ends it again: back here
    }, delayMs);
  }

  /** Called by the process's one probe timer: asks PING if Redis has been silent on this connection for `probeMs`. */
  probe(now = Date.now()): void {
    if (this.#retired || this.status !== 'ready') return;
    const sentAt = this.#probeSentAt;
    if (sentAt !== undefined) {
      if (now - sentAt <= this.#probeTimeoutMs) return;
      // The peer is gone without closing the socket: drop it; ioredis reconnects (asking Sentinel again).
      this.#probeSentAt = undefined;
      this.#markUnhealthy();
      this.#onRepair?.({ connection: this.label, cause: 'unanswered', delayMs: 0 });
      this.disconnect(true);
      return;
    }
    // Heard from within the period: it answers, no PING needed.
    if (now - this.#heardAt < this.#probeMs) return;
    const epoch = this.#epoch;
    this.#probeSentAt = now;
    const answered = () => {
      if (epoch !== this.#epoch) return;
      this.#probeSentAt = undefined;
      this.#unhealthySince = undefined;
    };
    // An error reply is an answer too; a connection lost meanwhile is seen by 'close'.
    this.ping().then(answered, (err: unknown) => {
      if (epoch === this.#epoch && (err as Error).name === 'ReplyError') answered();
    });
  }
}

/** The connections of one process, for its readiness and its watchdog. */
export class ConnectionSet {
  readonly #connections: SupervisedRedis[] = [];

  add<T extends SupervisedRedis>(redis: T): T {
    this.#connections.push(redis);
    return redis;
  }

  /** The connection opened under `name`, if any. */
  get(name: string): SupervisedRedis | undefined {
    return this.#connections.find((c) => c.label === name);
  }

  report(now = Date.now()): ConnectionState[] {
    return this.#connections.map((c) => c.health(now));
  }

  /** Every connection healthy (or every one of those named). */
  healthy(names?: readonly string[]): boolean {
    return this.unhealthyForMs(names) === 0;
  }

  /** How long the connection unhealthy longest (of those named, if given) has been so, ms; 0 when all are healthy. */
  unhealthyForMs(names?: readonly string[], now = Date.now()): number {
    return Math.max(0, ...this.report(now).filter((h) => names === undefined || names.includes(h.name)).map((h) => h.unhealthyForMs));
  }

  disconnectAll(): void {
    for (const c of this.#connections) c.disconnect();
  }

  /**
   * Calls `listener` after each round of the process's connection probes (every 1.25 s by default):
   * checks of the connections' health need no timer of their own (docs/performance.md, "Round two").
   */
  afterProbes(listener: () => void): () => void {
    return probes.onRound(listener);
  }
}

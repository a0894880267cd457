// Raft messages between schedulers over HTTP: a Hono route that receives batches, and a batching fetch client.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { RingpoolError } from '../errors.js';
import { decodeRaftBatch, encodeRaftBatch, RaftCodecError } from '../raft/message-codec.js';
import type { RaftTransport } from '../raft/transport.js';
import type { Member, NodeId, RaftMessage } from '../raft/types.js';

export const RAFT_MESSAGE_PATH = '/raft/message';
const HEADER_TIMESTAMP = 'x-raft-timestamp';
const HEADER_NONCE = 'x-raft-nonce';
const HEADER_SIGNATURE = 'x-raft-signature';
/**
 * On an answer: the port where this node's Raft thread takes messages itself (src/node/consensus-thread.ts),
 * on the same host as the URL the request went to. A sender then posts there, and goes back to the
 * configured URL (which tells the port again) when a post there fails.
 */
export const HEADER_DIRECT_PORT = 'x-raft-direct-port';

/** HMAC-SHA256 over timestamp, nonce and body: the body cannot be altered, nor the request replayed later. */
export function signRaftRequest(secret: string, timestamp: number, nonce: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${nonce}\n${body}`).digest('hex');
}

/** The answer in a response's body, signed over the request's nonce (never a valid request nonce: it is not hex). */
export function signRaftReply(secret: string, requestNonce: string, body: string): string {
  return signRaftRequest(secret, 0, `reply:${requestNonce}`, body);
}

// ── Server side ──────────────────────────────────────────────────────────────────────────────

export interface RaftRoutesOptions {
  /**
   * Receives each authenticated, validated batch (usually `(m) => driver.receive(m)`). What it
   * returns, the messages for `from` the batch gave rise to at once (votes, append responses), goes
   * back in the response's body rather than in a request of our own: the sender reads them off its
   * own request, so a leader hears its followers without its HTTP server (docs/architecture.md, "Raft in a thread of its own").
   */
  readonly receive: (messages: readonly RaftMessage[], from: NodeId) => readonly RaftMessage[] | void;
  /**
   * Told the direct port (HEADER_DIRECT_PORT) an accepted request's sender listens on, so that
   * answers and later messages to it need not pass through its node's main thread.
   */
  readonly onPeerDirectPort?: (from: NodeId, port: string) => void;
  /** When set, batches addressed to another node are rejected (400). */
  readonly id?: NodeId;
  /** Cluster secret: when set, every request must carry a valid HMAC, or it is rejected with 401. */
  readonly secret?: string;
  /**
   * A signed request is accepted only if its timestamp is within this many ms of our clock, and only once.
   * @default 30000
   */
  readonly replayWindowMs?: number;
  /**
   * Largest body accepted.
   * @default 16777216 (16 MiB)
   */
  readonly maxBodyBytes?: number;
  /** Clock for the replay window. @default Date.now */
  readonly now?: () => number;
}

export const RAFT_ROUTES_DEFAULTS = Object.freeze({ replayWindowMs: 30_000, maxBodyBytes: 16 * 1024 * 1024 });

export interface RaftRouteStats {
  readonly accepted: number;
  /** Missing, malformed or wrong signature, or a timestamp outside the window. */
  readonly rejectedUnauthenticated: number;
  /** A correctly signed request seen before. */
  readonly rejectedReplayed: number;
  /** Not a valid Raft batch (or too large, or for another node). */
  readonly rejectedMalformed: number;
  /** rejectedUnauthenticated + rejectedReplayed. */
  readonly rejected: number;
}

export type RaftRoutes = Hono & { readonly stats: RaftRouteStats };

/** A Hono sub-app with `POST /raft/message`; mount it with `app.route('/', routes)`. */
export function createRaftRoutes(options: RaftRoutesOptions): RaftRoutes {
  if (typeof options.receive !== 'function') throw new RingpoolError('CONFIG', `receive must be a function, got ${typeof options.receive}`);
  if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret.length < 16)) {
    throw new RangeError('secret must be a string of at least 16 characters');
  }
  const replayWindowMs = options.replayWindowMs ?? RAFT_ROUTES_DEFAULTS.replayWindowMs;
  const maxBodyBytes = options.maxBodyBytes ?? RAFT_ROUTES_DEFAULTS.maxBodyBytes;
  const counts: RouteCounts = { accepted: 0, rejectedUnauthenticated: 0, rejectedReplayed: 0, rejectedMalformed: 0 };
  const signed = options.secret === undefined ? undefined : new SignedRequests(options.secret, replayWindowMs, options.now ?? Date.now);

  const app = new Hono();
  app.post(RAFT_MESSAGE_PATH, async (c) => {
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > maxBodyBytes) {
      counts.rejectedMalformed++;
      return c.json({ error: { code: 'PAYLOAD_TOO_LARGE', message: `body of ${declared} bytes exceeds ${maxBodyBytes}` } }, 413);
    }
    const body = await c.req.text();
    if (Buffer.byteLength(body) > maxBodyBytes) {
      counts.rejectedMalformed++;
      return c.json({ error: { code: 'PAYLOAD_TOO_LARGE', message: `body exceeds ${maxBodyBytes} bytes` } }, 413);
    }
    const refused = signed?.refuse(c.req.header(HEADER_TIMESTAMP), c.req.header(HEADER_NONCE), c.req.header(HEADER_SIGNATURE), body);
    if (refused !== undefined) {
      counts[refused.count]++;
      return c.json({ error: { code: 'UNAUTHORIZED', message: refused.message } }, 401);
    }
    let batch;
    try {
      batch = decodeRaftBatch(body);
    } catch (err) {
      counts.rejectedMalformed++;
      const message = err instanceof RaftCodecError ? err.message : String(err);
      return c.json({ error: { code: 'BAD_INPUT', message } }, 400);
    }
    if (options.id !== undefined && batch.to !== options.id) {
      counts.rejectedMalformed++;
      return c.json({ error: { code: 'BAD_INPUT', message: `this is ${options.id}, not ${batch.to}` } }, 400);
    }
    counts.accepted++;
    const senderPort = c.req.header(HEADER_DIRECT_PORT);
    if (senderPort !== undefined) options.onPeerDirectPort?.(batch.from, senderPort);
    const replies = options.receive(batch.messages, batch.from);
    if (replies === undefined || replies.length === 0 || options.id === undefined) return c.body(null, 204);
    const answer = encodeRaftBatch({ from: options.id, to: batch.from, messages: [...replies] });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    // Signed over the request's nonce: an answer is good for that one request only.
    if (options.secret !== undefined) headers[HEADER_SIGNATURE] = signRaftReply(options.secret, c.req.header(HEADER_NONCE) ?? '', answer);
    return c.body(answer, 200, headers);
  });
  return Object.assign(app, { stats: liveStats(counts) });
}

type RouteCounts = { -readonly [K in Exclude<keyof RaftRouteStats, 'rejected'>]: number };

/** The HMAC check of a signed request, and the nonces seen within the replay window. */
class SignedRequests {
  readonly #secret: string;
  readonly #replayWindowMs: number;
  readonly #now: () => number;
  /** Nonces of accepted requests until they fall out of the window. */
  readonly #seenNonces = new Map<string, number>();

  constructor(secret: string, replayWindowMs: number, now: () => number) {
    this.#secret = secret;
    this.#replayWindowMs = replayWindowMs;
    this.#now = now;
  }

  /** Why the request is refused, and the count it adds to; undefined when it is authentic and new. */
  refuse(timestampHeader: string | undefined, nonceHeader: string | undefined, signatureHeader: string | undefined, body: string): { count: 'rejectedUnauthenticated' | 'rejectedReplayed'; message: string } | undefined {
    const t = this.#now();
    const timestamp = Number(timestampHeader);
    const nonce = nonceHeader ?? '';
    const signature = signatureHeader ?? '';
    const expected = Buffer.from(signRaftRequest(this.#secret, timestamp, nonce, body), 'hex');
    const given = Buffer.from(signature, 'hex');
    const authentic = Number.isFinite(timestamp) && /^[0-9a-f]{16,128}$/.test(nonce) && given.length === expected.length && timingSafeEqual(given, expected);
    if (!authentic || Math.abs(t - timestamp) > this.#replayWindowMs) {
      return { count: 'rejectedUnauthenticated', message: authentic ? 'request timestamp is outside the replay window' : 'missing or invalid HMAC signature' };
    }
    this.#forgetOldNonces(t);
    if (this.#seenNonces.has(nonce)) return { count: 'rejectedReplayed', message: 'replayed request' };
    this.#seenNonces.set(nonce, t + 2 * this.#replayWindowMs);
    return undefined;
  }

  #forgetOldNonces(t: number): void {
    for (const [nonce, expires] of this.#seenNonces) {
      if (expires > t) break; // insertion order ≈ expiry order
      this.#seenNonces.delete(nonce);
    }
  }
}

/** The counts as they are when read. */
function liveStats(counts: Readonly<RouteCounts>): RaftRouteStats {
  return {
    get accepted() {
      return counts.accepted;
    },
    get rejectedUnauthenticated() {
      return counts.rejectedUnauthenticated;
    },
    get rejectedReplayed() {
      return counts.rejectedReplayed;
    },
    get rejectedMalformed() {
      return counts.rejectedMalformed;
    },
    get rejected() {
      return counts.rejectedUnauthenticated + counts.rejectedReplayed;
    },
  };
}

// ── Client side ──────────────────────────────────────────────────────────────────────────────

export interface HttpRaftTransportOptions {
  /** Our node id, the `from` of every batch. */
  readonly id: NodeId;
  /** Base URLs of the peers (`http://host:port`), by id; updated later by setPeers(). */
  readonly peers?: Readonly<Record<NodeId, string>>;
  /** Cluster secret; when set, every request is signed. */
  readonly secret?: string;
  /**
   * Per-request timeout.
   * @default 1000
   */
  readonly timeoutMs?: number;
  /**
   * Most messages in one POST; more wait for the next one.
   * @default 512
   */
  readonly maxBatchMessages?: number;
  /**
   * Most messages queued per peer while a request is in flight; beyond that new ones are dropped.
   * @default 8192
   */
  readonly maxQueuedMessages?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Ask each peer's URL for its Raft thread's own port (HEADER_DIRECT_PORT), every this many ms
   * until it is known, so that the first vote between two followers need not pass through a peer's
   * main thread. 0: only learn it from answers to messages.
   * @default 1000
   */
  readonly probeDirectEveryMs?: number;
  /**
   * Messages a peer sent back in a response's body (see RaftRoutesOptions.receive). Without it they
   * are dropped, and Raft retries.
   */
  readonly onReply?: (messages: readonly RaftMessage[]) => void;
}

export const HTTP_RAFT_TRANSPORT_DEFAULTS = Object.freeze({ timeoutMs: 1000, maxBatchMessages: 512, maxQueuedMessages: 8192, probeDirectEveryMs: 1000 });

interface PeerQueue {
  url: string;
  /** Where the peer's Raft thread listens, once an answer from `url` told (HEADER_DIRECT_PORT). */
  direct: string | undefined;
  /** A GET asking `url` for the direct port is under way. */
  probing: boolean;
  queue: RaftMessage[];
  inFlight: boolean;
}

/**
 * Non-blocking: send() queues and returns. One request in flight per peer; messages queued meanwhile go
 * in the next batch. A failed request is dropped, not retried: Raft's own retries cover it.
 */
export class HttpRaftTransport implements RaftTransport {
  readonly #id: NodeId;
  readonly #secret: string | undefined;
  readonly #timeoutMs: number;
  readonly #maxBatch: number;
  readonly #maxQueued: number;
  readonly #fetch: typeof fetch;
  readonly #onReply: ((messages: readonly RaftMessage[]) => void) | undefined;
  readonly #probeEveryMs: number;
  #probeTimer: NodeJS.Timeout | undefined;
  #ownDirectPort: string | undefined;
  readonly #peers = new Map<NodeId, PeerQueue>();
  #closed = false;
  readonly #counts = { batchesSent: 0, messagesSent: 0, requestsFailed: 0, messagesDropped: 0, repliesDropped: 0 };

  constructor(options: HttpRaftTransportOptions) {
    if (typeof options.id !== 'string' || options.id.length === 0) throw new RingpoolError('CONFIG', `id must be a non-empty string, got ${JSON.stringify(options.id)}`);
    this.#id = options.id;
    this.#secret = options.secret;
    this.#timeoutMs = options.timeoutMs ?? HTTP_RAFT_TRANSPORT_DEFAULTS.timeoutMs;
    this.#maxBatch = options.maxBatchMessages ?? HTTP_RAFT_TRANSPORT_DEFAULTS.maxBatchMessages;
    this.#maxQueued = options.maxQueuedMessages ?? HTTP_RAFT_TRANSPORT_DEFAULTS.maxQueuedMessages;
    for (const [name, v] of [['timeoutMs', this.#timeoutMs], ['maxBatchMessages', this.#maxBatch], ['maxQueuedMessages', this.#maxQueued]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${String(v)}`);
    }
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#onReply = options.onReply;
    this.#probeEveryMs = options.probeDirectEveryMs ?? HTTP_RAFT_TRANSPORT_DEFAULTS.probeDirectEveryMs;
    if (!Number.isInteger(this.#probeEveryMs) || this.#probeEveryMs < 0) throw new RangeError(`probeDirectEveryMs must be a non-negative integer, got ${String(this.#probeEveryMs)}`);
    for (const [id, url] of Object.entries(options.peers ?? {})) this.#setPeer(id, url);
  }

  get stats(): Readonly<{ batchesSent: number; messagesSent: number; requestsFailed: number; messagesDropped: number; repliesDropped: number }> {
    return { ...this.#counts };
  }

  /** Our own direct port, named on every request so that peers post there (see HEADER_DIRECT_PORT). */
  advertiseDirectPort(port: number): void {
    this.#ownDirectPort = String(port);
  }

  /** A peer named its direct port on a request it sent us: post there from now on. */
  learnDirectPort(id: NodeId, port: string): void {
    const peer = this.#peers.get(id);
    const url = peer === undefined ? undefined : directUrl(peer.url, port);
    if (peer !== undefined && url !== undefined) peer.direct = url; // its port now: a restarted peer listens on another
  }

  setPeers(members: readonly Member[]): void {
    for (const m of members) if (m.id !== this.#id && m.address !== undefined) this.#setPeer(m.id, m.address);
  }

  send(to: NodeId, messages: readonly RaftMessage[]): void {
    const peer = this.#peers.get(to);
    if (this.#closed || peer === undefined) {
      this.#counts.messagesDropped += messages.length;
      return;
    }
    const room = this.#maxQueued - peer.queue.length;
    if (room < messages.length) this.#counts.messagesDropped += messages.length - Math.max(0, room);
    peer.queue.push(...messages.slice(0, Math.max(0, room)));
    if (!peer.inFlight) this.#flush(to, peer);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    for (const p of this.#peers.values()) p.queue = [];
  }

  #setPeer(id: NodeId, url: string): void {
    const base = url.replace(/\/+$/, '');
    const existing = this.#peers.get(id);
    if (existing !== undefined) {
      if (existing.url !== base) existing.direct = undefined;
      existing.url = base;
    } else this.#peers.set(id, { url: base, direct: undefined, probing: false, queue: [], inFlight: false });
    this.#probeSoon(0);
  }

  /** Asks, in `ms`, every peer whose direct port is unknown; again every probeDirectEveryMs while one is. */
  #probeSoon(ms: number): void {
    if (this.#probeEveryMs === 0 || this.#closed || this.#probeTimer !== undefined) return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      let unknown = false;
      for (const peer of this.#peers.values()) {
        if (peer.direct !== undefined) continue;
        unknown = true;
        if (!peer.probing) this.#probe(peer);
      }
      if (unknown) this.#probeSoon(this.#probeEveryMs);
    }, ms);
    this.#probeTimer.unref();
  }

  #probe(peer: PeerQueue): void {
    peer.probing = true;
    const url = peer.url;
    this.#fetch(`${url}${RAFT_MESSAGE_PATH}`, { method: 'GET', signal: AbortSignal.timeout(this.#timeoutMs) })
      .then(async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        if (peer.direct === undefined && peer.url === url) peer.direct = directUrl(url, res.headers.get(HEADER_DIRECT_PORT));
      })
      .catch(() => {})
      .finally(() => (peer.probing = false));
  }

  /** A peer's answers to our batch: only a batch from that peer to us is taken. */
  #reply(from: NodeId, body: string, nonce: string, signature: string | null): void {
    if (this.#closed || this.#onReply === undefined) return;
    if (this.#secret !== undefined) {
      const expected = Buffer.from(signRaftReply(this.#secret, nonce, body), 'hex');
      const given = Buffer.from(signature ?? '', 'hex');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        this.#counts.repliesDropped++;
        return;
      }
    }
    try {
      const batch = decodeRaftBatch(body);
      if (batch.from === from && batch.to === this.#id) this.#onReply(batch.messages);
      else this.#counts.repliesDropped++;
    } catch {
      this.#counts.repliesDropped++;
    }
  }

  #flush(to: NodeId, peer: PeerQueue): void {
    if (this.#closed || peer.queue.length === 0) return;
    const messages = peer.queue.splice(0, this.#maxBatch);
    peer.inFlight = true;
    const body = encodeRaftBatch({ from: this.#id, to, messages });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#ownDirectPort !== undefined) headers[HEADER_DIRECT_PORT] = this.#ownDirectPort;
    const nonce = randomBytes(16).toString('hex');
    if (this.#secret !== undefined) {
      const timestamp = Date.now();
      headers[HEADER_TIMESTAMP] = String(timestamp);
      headers[HEADER_NONCE] = nonce;
      headers[HEADER_SIGNATURE] = signRaftRequest(this.#secret, timestamp, nonce, body);
    }
    const direct = peer.direct;
    this.#fetch(`${direct ?? peer.url}${RAFT_MESSAGE_PATH}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.#timeoutMs) })
      .then(async (res) => {
        // Read to the end (so the connection is reused): a 200 carries the peer's answers.
        const reply = await res.text().catch(() => '');
        if (direct === undefined) peer.direct = directUrl(peer.url, res.headers.get(HEADER_DIRECT_PORT));
        else if (!res.ok) {
          peer.direct = undefined;
          this.#probeSoon(this.#probeEveryMs);
        }
        if (res.ok) {
          this.#counts.batchesSent++;
          this.#counts.messagesSent += messages.length;
          if (res.status === 200 && reply.length > 0) this.#reply(to, reply, nonce, res.headers.get(HEADER_SIGNATURE));
        } else {
          this.#counts.requestsFailed++;
          this.#counts.messagesDropped += messages.length;
        }
      })
      .catch(() => {
        if (direct !== undefined && peer.direct === direct) {
          peer.direct = undefined; // back to the configured URL, and ask it again
          this.#probeSoon(this.#probeEveryMs);
        }
        this.#counts.requestsFailed++;
        this.#counts.messagesDropped += messages.length;
      })
      .finally(() => {
        peer.inFlight = false;
        this.#flush(to, peer);
      });
  }
}

/** The peer's Raft thread's own address: the host of its configured plain-HTTP URL, at the port it told. */
function directUrl(url: string, port: string | null): string | undefined {
  if (port === null || !/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return undefined;
  const at = new URL(url);
  if (at.protocol !== 'http:') return undefined;
  return `http://${at.hostname}:${port}`; // an IPv6 hostname keeps its brackets
}

// Writes that count only once enough replicas confirm them (Redis WAIT), on one connection.
import type { Redis } from 'ioredis';
import { RingpoolError } from '../errors.js';
import { inOneWrite } from './one-write.js';
import { toTypedError } from './scripts.js';

export interface ReplicatedWritesOptions {
  /**
   * Replicas that must confirm a write before it counts as stored (`WAIT`, docs/architecture.md §4).
   * @default 0
   */
  readonly minReplicas?: number;
  /** How long `WAIT` may block, in ms. @default 2000 */
  readonly waitTimeoutMs?: number;
  /** Told the outcome of every `WAIT` (for metrics and the cluster view). */
  readonly onAcknowledge?: (acked: boolean) => void;
}

/**
 * How the store's writes wait for the replicas: a write and its `WAIT` leave together, and a
 * short count throws NOT_REPLICATED. With `minReplicas` 0 a write is only typed (see toTypedError).
 * A caller takes `epoch` before it sends the writes to be confirmed, and hands it back.
 */
export class ReplicatedWrites {
  readonly minReplicas: number;
  readonly #redis: Redis;
  readonly #waitTimeoutMs: number;
  readonly #onAcknowledge: ((acked: boolean) => void) | undefined;
  #lastAcked: boolean | null = null;
  /**
   * Bumped whenever the connection closes. WAIT confirms only the writes made on its own
   * connection; ioredis resends a WAIT cut off by a failover on the new connection, where it
   * would confirm nothing this client wrote yet answer "replicated". A write whose WAIT spans a
   * reconnect therefore counts as not stored (test/integration/replication-wait-resend.test.ts).
   */
  #epoch = 0;

  constructor(redis: Redis, options: ReplicatedWritesOptions = {}) {
    const minReplicas = options.minReplicas ?? 0;
    const waitTimeoutMs = options.waitTimeoutMs ?? 2000;
    if (!Number.isInteger(minReplicas) || minReplicas < 0) throw new RingpoolError('CONFIG', `minReplicas must be an integer >= 0, got ${minReplicas}`);
    if (!Number.isInteger(waitTimeoutMs) || waitTimeoutMs < 1) throw new RingpoolError('CONFIG', `waitTimeoutMs must be an integer >= 1, got ${waitTimeoutMs}`);
    this.#redis = redis;
    this.minReplicas = minReplicas;
    this.#waitTimeoutMs = waitTimeoutMs;
    this.#onAcknowledge = options.onAcknowledge;
    redis.on('close', () => this.#epoch++);
  }

  /** The connection epoch now: take it before sending the writes to be confirmed. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Whether the last `WAIT` was confirmed by enough replicas; null before the first. */
  get lastAcked(): boolean | null {
    return this.#lastAcked;
  }

  /**
   * Sends `touch` (a write) and a `WAIT` in one socket write, and returns once the replicas
   * confirm it, and with it every write the master made before (replication is one ordered stream).
   */
  async confirmAfter(touch: () => Promise<unknown>): Promise<void> {
    if (this.minReplicas === 0) return;
    const epoch = this.#epoch;
    const [, acked] = await inOneWrite(this.#redis, () => Promise.all([touch(), this.#wait()]));
    this.#check(acked, epoch);
  }

  /**
   * `WAIT` for the configured replicas (Redis docs: WAIT confirms the writes made before it on
   * this connection). `epoch` is the connection epoch before those writes were sent.
   */
  async acknowledge(epoch: number): Promise<void> {
    if (this.minReplicas === 0) return;
    this.#check(await this.#wait(), epoch);
  }

  #wait(): Promise<number> {
    return this.#redis.call('WAIT', this.minReplicas, this.#waitTimeoutMs) as Promise<number>;
  }

  /**
   * A script write whose `WAIT` goes out right behind it on the same connection, saving the round
   * trip between them. Replies come back in order, so the script's reply arrives before the
   * WAIT's, unless ioredis had to resend the script (NOSCRIPT after a SCRIPT FLUSH or a failover):
   * then the WAIT ran first and covered nothing, and a second WAIT is sent. The order is read
   * from callbacks on the two promises, which run in reply order only at equal depth: ioredis's
   * promise of a script reply sits one `.catch` (its NOSCRIPT fallback) above the reply, so the
   * WAIT's is given one step too. `send` must return that promise as ioredis returns it
   * (`sendScript`); a further wrapped one would make every WAIT look first (one needless WAIT per
   * write; `job-store.test.ts` counts them). `needsAck` may waive the check for a write that
   * changed nothing.
   */
  async write<T>(send: () => Promise<T>, epoch: number, needsAck: (reply: T) => boolean = () => true): Promise<T> {
    if (this.minReplicas === 0) {
      return await send().catch((err: unknown) => {
        throw toTypedError(err);
      });
    }
    // The script and its WAIT leave in one socket write.
    const [write, wait] = inOneWrite(this.#redis, () => [send(), this.#wait()] as const);
    let scriptFirst: boolean | undefined;
    const replied = write.then(
      (reply) => {
        scriptFirst ??= true;
        return reply;
      },
      (err: unknown) => {
        scriptFirst ??= true;
        throw toTypedError(err);
      },
    );
    const waited = wait
      .then((n) => n) // the script promise's depth: see above
      .then((n) => {
        scriptFirst ??= false;
        return n;
      });
    let reply: T;
    try {
      reply = await replied;
    } catch (err) {
      waited.catch(() => {});
      throw err;
    }
    if (!needsAck(reply)) {
      waited.catch(() => {});
      return reply;
    }
    const acked = await waited;
    this.#check(scriptFirst === false ? await this.#wait() : acked, epoch);
    return reply;
  }

  #check(count: number, epoch: number): void {
    let acked = count;
    if (this.#epoch !== epoch) acked = 0; // the write and its WAIT may have run on different masters
    this.#lastAcked = acked >= this.minReplicas;
    this.#onAcknowledge?.(this.#lastAcked);
    if (acked < this.minReplicas) {
      throw new RingpoolError('NOT_REPLICATED', `write confirmed by ${acked} replica(s), ${this.minReplicas} required within ${this.#waitTimeoutMs} ms`, {
        details: { acked, required: this.minReplicas },
      });
    }
  }
}

// Worker nodes in Redis: their registrations (renewed by each node's heartbeat), their BullMQ queues named in one place, drain requests and evacuation reports.
import { Queue, Worker, type Processor, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { upgradeEntry, type TaskBatch } from '../transport/task-batch.js';
import type { Keys } from './keys.js';

export class WorkerStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  /** This connection's client id on the server (CLIENT ID), read once per connection; undefined until read. */
  #clientId: Promise<number | undefined> | undefined;
  /** When this connection last became ready (ms since the epoch): ids read before then name another connection, or another server. */
  #readyAt: number;

  constructor(redis: Redis, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
    this.#readyAt = redis.status === 'ready' ? Date.now() : Infinity;
    redis.on('ready', () => {
      this.#clientId = undefined;
      this.#readyAt = Date.now();
    });
  }

  /** Writes a node's registration as given (JSON, signed: see signRegistration), renewing its lease. */
  async register(nodeId: string, registration: string): Promise<void> {
    await this.#redis.hset(this.#keys.workers, nodeId, registration);
  }

  /**
   * A heartbeat: renews the registration and takes this node's drain request in one round trip.
   * Resolves true once for a drain request of this node.
   */
  async heartbeat(nodeId: string, registration: string): Promise<boolean> {
    const replies = await this.#redis.pipeline().hset(this.#keys.workers, nodeId, registration).srem(this.#keys.drainRequests, nodeId).exec();
    for (const [err] of replies ?? []) if (err) throw err;
    return replies?.[1]?.[1] === 1;
  }

  /**
   * This connection's client id on the Redis server (CLIENT ID), read once per connection: a worker
   * writes it into its registration so that the leader sees the connection close when the process
   * dies (docs/architecture.md §5, "Membership"). Undefined where the server refuses CLIENT.
   */
  async connectionId(): Promise<number | undefined> {
    this.#clientId ??= this.#redis.client('ID').then(
      (id) => Number(id),
      () => undefined,
    );
    return await this.#clientId;
  }

  /** Called each time this connection becomes ready again (its client id changed). */
  onReconnect(listener: () => void): void {
    this.#redis.on('ready', listener);
  }

  /** When this connection last became ready, ms since the epoch (Infinity before it first did). */
  get readyAt(): number {
    return this.#readyAt;
  }

  /**
   * Which of the client ids `ids` name connections open on the server now (one CLIENT LIST ID).
   * Rejects where the server refuses CLIENT LIST (an ACL, a managed Redis): the caller stops asking.
   */
  async openConnections(ids: readonly number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const list = (await this.#redis.call('CLIENT', 'LIST', 'ID', ...ids.map(String))) as string;
    return new Set([...list.matchAll(/(?:^|\s)id=(\d+)/g)].map((m) => Number(m[1])));
  }

  /** Every registration as stored (JSON, signed when the cluster has a secret), in no set order. */
  async registrations(): Promise<string[]> {
    return Object.values(await this.#redis.hgetall(this.#keys.workers));
  }

  /** The ids of the registered nodes, in no set order. */
  async nodeIds(): Promise<string[]> {
    return await this.#redis.hkeys(this.#keys.workers);
  }

  async isRegistered(nodeId: string): Promise<boolean> {
    return (await this.#redis.hexists(this.#keys.workers, nodeId)) === 1;
  }

  /** Drops a node's registration (its tasks have moved). */
  async forget(nodeId: string): Promise<void> {
    await this.#redis.hdel(this.#keys.workers, nodeId);
  }

  async requestDrain(nodeId: string): Promise<void> {
    await this.#redis.sadd(this.#keys.drainRequests, nodeId);
  }

  /** True once for a drain request of this node (the request is taken out). */
  async takeDrainRequest(nodeId: string): Promise<boolean> {
    return (await this.#redis.srem(this.#keys.drainRequests, nodeId)) === 1;
  }

  /** Keeps the last 100 reports of moved worker tasks, newest first. */
  async recordEvacuation(report: object): Promise<void> {
    await this.#redis.pipeline().lpush(this.#keys.evacuations, JSON.stringify(report)).ltrim(this.#keys.evacuations, 0, 99).exec();
  }

  async evacuations(): Promise<unknown[]> {
    return (await this.#redis.lrange(this.#keys.evacuations, 0, -1)).map((r) => JSON.parse(r) as unknown);
  }

  /**
   * A worker node's BullMQ queue, on `connection` (this store's by default). A queue issues no
   * blocking commands, so one connection may serve many. The caller closes it.
   */
  queue(nodeId: string, connection: Redis = this.#redis): Queue<TaskBatch> {
    return new Queue<TaskBatch>(this.#keys.nodeQueue(nodeId), { connection, prefix: this.#keys.prefix });
  }

  /**
   * The BullMQ worker that takes a node's queue. Its `connection` must be one of its own (BullMQ
   * blocks on it) with `maxRetriesPerRequest: null`. The caller closes it. Entries reach
   * `processor` in this version's form (upgradeEntry).
   */
  worker(nodeId: string, processor: Processor<TaskBatch>, options: Omit<WorkerOptions, 'prefix'>): Worker<TaskBatch> {
    return new Worker<TaskBatch>(this.#keys.nodeQueue(nodeId), (entry, token, signal) => processor(upgradeEntry(entry), token, signal), { ...options, prefix: this.#keys.prefix });
  }
}

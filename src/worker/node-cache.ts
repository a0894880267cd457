// The per-node cache behind `ctx.cache`: one LRU by bytes in the node's main thread, shared by its threads, single-flight.
import type { MessagePort } from 'node:worker_threads';
import { RingpoolError } from '../errors.js';

/**
 * Why a store in the main thread reached over a MessagePort, and not a SharedArrayBuffer heap
 * (docs/architecture.md §4, "The node cache"): values are arbitrary structured-clonable data
 * whose sizes are not known in advance; a shared heap would need its own allocator, and every
 * hit would still deserialise the value. Here a hit costs one message round trip and a structured
 * clone; byte values (Buffer, Uint8Array) are kept in SharedArrayBuffer memory, so a hit shares
 * their bytes with the thread instead of copying them. Single-flight is a map in one thread:
 * no lock, no race.
 */

/** Thread → main thread. */
export type CacheRequest =
  | { readonly op: 'get'; readonly id: number; readonly key: string }
  /** The value the thread told to load has loaded (`bytes`: its size as the thread measured it). */
  | { readonly op: 'put'; readonly key: string; readonly value: unknown; readonly bytes: number }
  /** The load the thread was told to do threw: another waiter loads instead. */
  | { readonly op: 'fail'; readonly key: string };

/** Main thread → thread: the value (`shared`: bytes in shared memory), or "you load it". */
export type CacheReply = { readonly id: number; readonly hit: true; readonly value: unknown; readonly shared: boolean } | { readonly id: number; readonly hit: false };

/** What the cache holds and has done since the node started. */
export interface CacheStats {
  /** Asks answered with a value another load produced (kept, or loaded meanwhile by another thread). */
  readonly hits: number;
  /** Asks answered with "load it" (one per key per load). */
  readonly misses: number;
  readonly bytes: number;
  readonly entries: number;
}

/** How long a call's port stays open after the call ended, for messages still on their way, ms. */
const RELEASE_GRACE_MS = 1_000;

interface Entry {
  readonly value: unknown;
  readonly bytes: number;
  readonly shared: boolean;
}

interface Waiter {
  readonly port: MessagePort;
  readonly id: number;
}

/** A key being loaded: by whom, and who waits for it. */
interface Flight {
  loader: MessagePort;
  readonly waiters: Waiter[];
}

export class NodeCache {
  readonly maxBytes: number;
  /** Least recently used first (a Map keeps insertion order; a hit moves its key to the end). */
  readonly #entries = new Map<string, Entry>();
  readonly #flights = new Map<string, Flight>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new RingpoolError('CONFIG', `cacheBytes must be an integer >= 0 (0 keeps nothing), got ${maxBytes}`);
    this.maxBytes = maxBytes;
  }

  stats(): CacheStats {
    return { hits: this.#hits, misses: this.#misses, bytes: this.#bytes, entries: this.#entries.size };
  }

  /**
   * Serves a thread call's port (`port`: this side of the channel the call opened at its first
   * `ctx.cache`, cache-client.ts); `release` once the call ended: loads it was doing and never
   * finished pass to a waiter.
   */
  accept(port: MessagePort): { release(): void } {
    port.on('message', (request: CacheRequest) => this.#handle(port, request));
    // The thread closes its end once its call is done, after its last message (a put may arrive
    // after the call's result); a thread that died closes it too. `release` is the backstop.
    port.once('close', () => this.#disconnected(port));
    return {
      release: () => {
        setTimeout(() => port.close(), RELEASE_GRACE_MS).unref();
      },
    };
  }

  /** A call's port closed: it waits for nothing any more, and its unfinished loads pass to a waiter. */
  #disconnected(port: MessagePort): void {
    for (const [key, flight] of this.#flights) {
      const others = flight.waiters.filter((w) => w.port !== port);
      flight.waiters.splice(0, flight.waiters.length, ...others);
      if (flight.loader === port) this.#failed(key, flight);
    }
  }

  #handle(port: MessagePort, request: CacheRequest): void {
    if (request.op === 'get') return this.#get(port, request.id, request.key);
    const flight = this.#flights.get(request.key);
    if (request.op === 'fail') {
      if (flight?.loader === port) this.#failed(request.key, flight);
      return;
    }
    const entry = this.#keep(request.key, request.value, request.bytes);
    this.#flights.delete(request.key);
    for (const waiter of flight?.waiters ?? []) {
      this.#hits++;
      reply(waiter, { id: waiter.id, hit: true, value: entry.value, shared: entry.shared });
    }
  }

  #get(port: MessagePort, id: number, key: string): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#hits++;
      return reply({ port, id }, { id, hit: true, value: entry.value, shared: entry.shared });
    }
    const flight = this.#flights.get(key);
    if (flight !== undefined) {
      flight.waiters.push({ port, id }); // single-flight: answered when the loader puts the value
      return;
    }
    this.#flights.set(key, { loader: port, waiters: [] });
    this.#misses++;
    reply({ port, id }, { id, hit: false });
  }

  /** The loader gave up (its load threw, or its call ended): the first waiter loads instead. */
  #failed(key: string, flight: Flight): void {
    const next = flight.waiters.shift();
    if (next === undefined) {
      this.#flights.delete(key);
      return;
    }
    flight.loader = next.port;
    this.#misses++;
    reply(next, { id: next.id, hit: false });
  }

  /** Keeps the value if it fits (evicting the least recently used); returns it as it is sent on. */
  #keep(key: string, value: unknown, bytes: number): Entry {
    const entry = sharedEntry(value, bytes);
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= old.bytes;
    }
    if (entry.bytes > this.maxBytes) return entry;
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
    for (const [oldest, { bytes: size }] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= size;
    }
    return entry;
  }
}

/** Byte values are copied once into shared memory: each hit then shares them instead of copying. */
function sharedEntry(value: unknown, bytes: number): Entry {
  if (!(value instanceof Uint8Array)) return { value, bytes, shared: false };
  const copy = new Uint8Array(new SharedArrayBuffer(value.byteLength));
  copy.set(value);
  return { value: copy, bytes: value.byteLength, shared: true };
}

function reply(to: Waiter, message: CacheReply): void {
  try {
    to.port.postMessage(message);
  } catch {
    // The thread's call ended (port closed): nobody waits there any more.
  }
}

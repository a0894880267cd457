// The thread side of the node cache: `ctx.cache(key, load)` over the thread's MessagePort (node-cache.ts).
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { CachePortOffer, CacheReply, CacheRequest } from './node-cache.js';

/** A call's asks of the node cache: answered with a value, or with "load it". */
export interface CacheCounts {
  readonly hits: number;
  readonly misses: number;
}

/** `ctx.cache` of one thread call. */
export type CacheFn = <T>(key: string, load: () => T | Promise<T>) => Promise<T>;

/** Without a node cache (a call run outside a worker node): every ask loads. */
export const uncached: CacheFn = async (_key, load) => await load();

/** This thread's port to the node's cache; undefined until `offerCachePort` (and outside a pool thread). */
let link: CacheLink | undefined;

/**
 * Opens this pool thread's port to the node's cache and sends the other end to the main thread on
 * `parent` (the thread's `parentPort`; node-cache.ts `attach`). Called once as the thread starts,
 * before piscina says it is ready, so the port is there before the thread's first call. One port
 * serves all the thread's calls, one after another (a thread runs one call at a time): a port made
 * and transferred with every call cost ~0.2 ms of CPU a call (docs/architecture.md, "The node cache").
 */
export function offerCachePort(parent: Pick<MessagePort, 'postMessage'>): void {
  const { port1, port2 } = new MessageChannel();
  link = new CacheLink(port1);
  const offer: CachePortOffer = { nodeCachePort: port2 };
  parent.postMessage(offer, [port2]);
}

/** `ctx.cache` for one thread call over this thread's port; undefined when the thread has none. `end` once the call is done. */
export function callCache(): { readonly cache: CacheFn; readonly counts: CacheCounts; end(): void } | undefined {
  return link?.call();
}

/**
 * `ctx.cache` over the thread's port: asks the node's cache, loads the value itself only when told
 * to (the first thread to ask for a key), and hands the loaded value back for the others.
 */
class CacheLink {
  readonly #port: MessagePort;
  readonly #pending = new Map<number, (reply: CacheReply) => void>();
  #next = 0;

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (reply: CacheReply) => {
      const resolve = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      resolve?.(reply);
    });
  }

  call(): { readonly cache: CacheFn; readonly counts: CacheCounts; end(): void } {
    const counts = { hits: 0, misses: 0 };
    let asked = false;
    const ask = (key: string) =>
      new Promise<CacheReply>((resolve) => {
        const id = this.#next++;
        this.#pending.set(id, resolve);
        asked = true;
        this.#send({ op: 'get', id, key });
      });
    const cache: CacheFn = async <T>(key: string, load: () => T | Promise<T>): Promise<T> => {
      if (typeof key !== 'string') throw new TypeError(`ctx.cache: key must be a string, got ${typeof key}`);
      const reply = await ask(key);
      if (reply.hit) counts.hits++;
      else counts.misses++;
      if (reply.hit) return (reply.shared ? asBuffer(reply.value as Uint8Array) : reply.value) as T;
      let value: T;
      try {
        value = await load();
      } catch (err) {
        this.#send({ op: 'fail', key });
        throw err;
      }
      try {
        this.#send({ op: 'put', key, value, bytes: sizeOf(value) });
      } catch {
        this.#send({ op: 'fail', key }); // not structured-clonable: kept by no one, each thread loads its own
      }
      return value;
    };
    const end = () => {
      if (!asked) return; // nothing to give back: a call that never asked sends nothing
      // After the call's last message on the port: loads it was told to do and never finished pass to a waiter.
      this.#send({ op: 'release' });
      this.#pending.clear(); // answers still owed to this call are dropped by the main thread
    };
    return { cache, counts, end };
  }

  #send(request: CacheRequest): void {
    this.#port.postMessage(request);
  }
}

/** Shared bytes as a Buffer over the same memory (read-only by contract: every thread sees them). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A value's size as the cache counts it: bytes of binary data and strings, else of its JSON. */
export function sizeOf(value: unknown): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (typeof value === 'string') return Buffer.byteLength(value);
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '');
  } catch {
    return 0; // not JSON (a Map, a cycle): counted as free, still kept
  }
}

// The thread side of the node cache: `ctx.cache(key, load)` over the call's MessagePort (node-cache.ts).
import { MessageChannel, parentPort, type MessagePort } from 'node:worker_threads';
import type { CacheReply, CacheRequest } from './node-cache.js';

/**
 * Thread → main thread, on the thread's `parentPort` (piscina hands it to the pool's 'message'
 * listeners): the node cache's end of a port the call opened, and which call (`ThreadBatch.cacheCall`).
 */
export interface CachePortMessage {
  readonly ringpoolCacheCall: number;
  readonly port: MessagePort;
}

export function isCachePortMessage(message: unknown): message is CachePortMessage {
  return typeof message === 'object' && message !== null && typeof (message as Partial<CachePortMessage>).ringpoolCacheCall === 'number';
}

/**
 * Opens call `call`'s port to the node cache from this thread: its other end goes to the main
 * thread on `parentPort`. Undefined outside a thread.
 */
export function openCachePort(call: number): (() => MessagePort) | undefined {
  const parent = parentPort;
  if (parent === null) return undefined;
  return () => {
    const { port1: mine, port2: theirs } = new MessageChannel();
    const message: CachePortMessage = { ringpoolCacheCall: call, port: theirs };
    parent.postMessage(message, [theirs]);
    return mine;
  };
}

/** A call's asks of the node cache: answered with a value, or with "load it". */
export interface CacheCounts {
  readonly hits: number;
  readonly misses: number;
}

/** `ctx.cache` of one thread call. */
export type CacheFn = <T>(key: string, load: () => T | Promise<T>) => Promise<T>;

/** Without a node cache (a call run outside a worker node): every ask loads. */
export const uncached: CacheFn = async (_key, load) => await load();

/**
 * `ctx.cache` for the calls of one run: asks the node's cache, loads the value itself only when
 * told to (the first thread to ask for a key), and hands the loaded value back for the others.
 * `close` once the call is done. The port is opened (`open`) at the call's first ask: a call
 * that never uses `ctx.cache` (most) costs no channel, no transfer and no close
 * (docs/performance.md, `latency`).
 */
export function cacheClient(open: () => MessagePort): { readonly cache: CacheFn; readonly counts: CacheCounts; close(): void } {
  const counts = { hits: 0, misses: 0 };
  const pending = new Map<number, (reply: CacheReply) => void>();
  let next = 0;
  let opened: MessagePort | undefined;
  const portOf = (): MessagePort => {
    if (opened !== undefined) return opened;
    const port = open();
    port.on('message', (reply: CacheReply) => {
      const resolve = pending.get(reply.id);
      pending.delete(reply.id);
      resolve?.(reply);
    });
    opened = port;
    return port;
  };
  const ask = (key: string) =>
    new Promise<CacheReply>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      send(portOf(), { op: 'get', id, key });
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
      send(portOf(), { op: 'fail', key });
      throw err;
    }
    try {
      send(portOf(), { op: 'put', key, value, bytes: sizeOf(value) });
    } catch {
      send(portOf(), { op: 'fail', key }); // not structured-clonable: kept by no one, each thread loads its own
    }
    return value;
  };
  return {
    cache,
    counts,
    close: () => opened?.close(),
  };
}

function send(port: MessagePort, request: CacheRequest): void {
  port.postMessage(request);
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

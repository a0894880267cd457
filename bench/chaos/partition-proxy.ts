// A TCP proxy in front of the Redis master for one worker node: it follows failovers (asks a sentinel at each new connection) and can cut the link.
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/** Bytes held for one connection while cut, beyond which it is closed (a real network's buffers are finite too). */
const MAX_HELD_BYTES = 16 * 1024 * 1024;

interface Pair {
  readonly client: Socket;
  upstream?: Socket;
  /** Bytes that arrived while cut, each with the side it goes to, in order. */
  held: Array<{ to: 'client' | 'upstream'; chunk: Buffer }>;
  heldBytes: number;
}

/**
 * While cut, nothing passes either way: bytes that arrive are held in order (as a network that
 * drops packets and TCP that retransmits them would deliver them later) and a new connection is
 * accepted but not forwarded. Healing delivers what was held, in order, so a connection that
 * outlived the cut carries on; one its owner gave up on is closed on both sides.
 */
export class PartitionProxy {
  readonly #server: Server;
  readonly #masterPort: () => Promise<number | undefined>;
  readonly #pairs = new Set<Pair>();
  readonly #waiting = new Set<() => void>();
  #cut = false;
  #port = 0;

  private constructor(masterPort: () => Promise<number | undefined>) {
    this.#masterPort = masterPort;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Listens on a free port of 127.0.0.1; `masterPort` says where the master is now. */
  static async start(masterPort: () => Promise<number | undefined>): Promise<PartitionProxy> {
    const proxy = new PartitionProxy(masterPort);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.#port = (proxy.#server.address() as AddressInfo).port;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  cut(): void {
    this.#cut = true;
  }

  heal(): void {
    if (!this.#cut) return;
    this.#cut = false;
    for (const pair of this.#pairs) {
      if (pair.upstream === undefined) continue; // still connecting: it sends what it holds once connected
      for (const { to, chunk } of pair.held) (to === 'client' ? pair.client : pair.upstream)?.write(chunk);
      pair.held = [];
      pair.heldBytes = 0;
    }
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const connect of waiting) connect();
  }

  async close(): Promise<void> {
    this.#waiting.clear();
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    this.#pairs.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const pair: Pair = { client, held: [], heldBytes: 0 };
    this.#pairs.add(pair);
    const drop = () => {
      this.#pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    const forward = (to: 'client' | 'upstream', chunk: Buffer) => {
      const target = to === 'client' ? client : pair.upstream;
      if (!this.#cut && target !== undefined && pair.held.length === 0) {
        target.write(chunk);
        return;
      }
      pair.held.push({ to, chunk });
      pair.heldBytes += chunk.length;
      if (pair.heldBytes > MAX_HELD_BYTES) drop();
    };
    client.on('data', (chunk: Buffer) => forward('upstream', chunk));
    client.once('close', drop);
    client.on('error', drop);
    const connect = async () => {
      if (client.destroyed) return;
      if (this.#cut) {
        this.#waiting.add(() => void connect());
        return;
      }
      const port = await this.#masterPort();
      if (port === undefined || client.destroyed) return drop();
      const upstream = new Socket();
      upstream.on('data', (chunk: Buffer) => forward('client', chunk));
      upstream.once('close', drop);
      upstream.on('error', drop);
      upstream.connect(port, '127.0.0.1', () => {
        pair.upstream = upstream;
        // What the client sent before the upstream was there goes first (unless cut meanwhile).
        if (!this.#cut) {
          for (const { chunk } of pair.held) upstream.write(chunk);
          pair.held = [];
          pair.heldBytes = 0;
        }
      });
    };
    void connect();
  }
}

// A TCP proxy for fault injection in tests: replies held back on new connections, or every open connection frozen.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections opened from now on get no reply until `release` (their requests do go through): a slow server. */
  hold(): void;
  /** What was held flows on, and new connections are served again. */
  release(): void;
  /** Connections open now stop forwarding either way and stay open, as across a partition; new ones are served. */
  freeze(): void;
  /** Drops every connection and refuses new ones: the target is unreachable. */
  cut(): void;
  /** Accepts connections again after `cut`. */
  heal(): void;
  /** Connections open now. */
  readonly open: number;
  close(): void;
}

interface Pair {
  readonly down: Socket;
  readonly up: Socket;
  held: Buffer[] | undefined;
  frozen: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let holding = false;
  let refusing = false;
  const server: Server = createServer((down) => {
    if (refusing) {
      down.destroy();
      return;
    }
    const up = createConnection(target);
    const pair: Pair = { down, up, held: holding ? [] : undefined, frozen: false };
    for (const s of [down, up]) s.setNoDelay(true);
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    for (const s of [down, up]) {
      s.on('error', close);
      s.on('close', close);
    }
    down.on('data', (chunk: Buffer) => {
      if (!pair.frozen) up.write(chunk);
    });
    up.on('data', (chunk: Buffer) => {
      if (pair.frozen) return;
      if (pair.held !== undefined) pair.held.push(chunk);
      else down.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const pair of pairs) {
        const held = pair.held;
        pair.held = undefined;
        for (const chunk of held ?? []) pair.down.write(chunk);
      }
    },
    freeze() {
      for (const pair of pairs) pair.frozen = true;
    },
    cut() {
      refusing = true;
      for (const pair of [...pairs]) {
        pair.down.destroy();
        pair.up.destroy();
      }
    },
    heal() {
      refusing = false;
    },
    get open() {
      return pairs.size;
    },
    close() {
      for (const pair of [...pairs]) {
        pair.down.destroy();
        pair.up.destroy();
      }
      server.close();
    },
  };
}

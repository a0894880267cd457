// The scheduler's Raft node in its own thread (src/node/consensus.ts): three in one process, over real HTTP.
import { serve, type ServerType } from '@hono/node-server';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startConsensus, type Consensus } from '../../src/node/consensus.js';
import { freePort } from '../../src/store/local-redis.js';

const work = mkdtempSync(join(tmpdir(), 'ringpool-raft-thread-'));
const servers: ServerType[] = [];
const groups: Consensus[] = [];
afterAll(async () => {
  await Promise.all(groups.map((c) => c.close()));
  for (const s of servers) s.close();
  rmSync(work, { recursive: true, force: true });
});

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Three schedulers' Raft nodes, each behind a node server of its own on this (main) thread, as `ringpool scheduler` runs them. */
async function threeSchedulers(direct: (i: number) => Promise<number | 'off'> = async () => 0): Promise<Consensus[]> {
  const ids = ['r1', 'r2', 'r3'];
  const ports = await Promise.all(ids.map(() => freePort()));
  const peers = ids.map((id, i) => `${id}=http://127.0.0.1:${ports[i]}`);
  const logger = pino({ level: 'silent' });
  const group = await Promise.all(
    ids.map(async (id, i) => {
      const config = loadConfig({ schedulerId: id, peers, dataDir: join(work, `${id}-${ports[i]}`), host: '127.0.0.1', port: ports[i], raftDirectPort: await direct(i) }, {});
      // Slower than the defaults (elections in 500–1,000 ms), so that this busy test machine's own delays cost no election.
      const consensus = await startConsensus({ config, selfUrl: `http://127.0.0.1:${ports[i]}`, logger, timing: { tickMs: 50, electionTicks: 10, heartbeatTicks: 2, quorumTicks: 20 } });
      servers.push(serve({ fetch: (request: Request) => consensus.routes.fetch(request), hostname: '127.0.0.1', port: ports[i] as number }));
      return consensus;
    }),
  );
  groups.push(...group);
  return group;
}

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the scheduler's main thread, busy (a long split slice, a garbage collection)
  }
}

describe('the Raft node in a thread of its own', () => {
  it('a busy main thread costs no election: its event loop blocked for 2.5 s three times, and the leader and term stay', async () => {
    const group = await threeSchedulers();
    await waitFor('a leader', () => group.find((c) => c.node.status().role === 'leader'));
    // Once the peers reach one another's Raft threads directly, no message waits for this event loop.
    await new Promise((r) => setTimeout(r, 2500));
    const leader = await waitFor('a leader', () => group.find((c) => c.node.status().role === 'leader'));
    await leader.node.propose({ type: 'noop' });
    const { term, id } = leader.node.status();
    for (let i = 0; i < 3; i++) {
      busyFor(2500); // 2.5–5 election timeouts
      await new Promise((r) => setTimeout(r, 100));
    }
    const statuses = group.map((c) => c.node.status());
    expect(statuses.map((s) => s.term)).toEqual([term, term, term]);
    expect(statuses.filter((s) => s.role === 'leader').map((s) => s.id)).toEqual([id]);
    // Commands commit and reach every scheduler's ControlState, in this thread.
    await leader.node.propose({ type: 'set-members', members: [{ id: 'w1', weight: 2 }] });
    await waitFor('the members everywhere', () => (group.every((c) => c.control.snapshot().members.length === 1) ? true : undefined));
  }, 60_000);

  it('--raft-direct-port: a fixed port is the one peers are told; off, every message goes through the node servers', async () => {
    const fixed = await freePort();
    const named = await threeSchedulers(async (i) => (i === 0 ? fixed : 0));
    await waitFor('a leader', () => named.find((c) => c.node.status().role === 'leader'));
    // What a peer's probe (GET on the node server's Raft route) is told.
    const told = await (named[0] as Consensus).routes.fetch(new Request('http://x/raft/message'));
    expect(told.headers.get('x-raft-direct-port')).toBe(String(fixed));

    const off = await threeSchedulers(async () => 'off');
    const leader = await waitFor('a leader without direct ports', () => off.find((c) => c.node.status().role === 'leader'));
    await leader.node.propose({ type: 'set-members', members: [{ id: 'w9', weight: 1 }] });
    await waitFor('the members everywhere', () => (off.every((c) => c.control.snapshot().members.some((m) => m.id === 'w9')) ? true : undefined));
    for (const c of off) expect((await c.routes.fetch(new Request('http://x/raft/message'))).headers.get('x-raft-direct-port')).toBeNull();
  }, 60_000);
});

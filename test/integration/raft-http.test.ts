// Three Raft drivers over real HTTP in one process: election, replication, leader loss, transfer, HMAC.
import { serve, type ServerType } from '@hono/node-server';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RaftDriver } from '../../src/raft/driver.js';
import { FileStorage } from '../../src/raft/file-storage.js';
import { encodeRaftBatch } from '../../src/raft/message-codec.js';
import type { Member } from '../../src/raft/types.js';
import { createRaftRoutes, HttpRaftTransport, signRaftRequest, type RaftRoutes } from '../../src/transport/raft-http.js';

const work = mkdtempSync(join(tmpdir(), 'ringpool-raft-http-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface TestNode {
  id: string;
  url: string;
  server: ServerType;
  routes: RaftRoutes;
  driver: RaftDriver<string> | undefined;
  applied: string[];
}

const nodes: TestNode[] = [];

async function listen(id: string, secret: string | undefined): Promise<TestNode> {
  const node = { id, applied: [] as string[], driver: undefined } as unknown as TestNode;
  node.routes = createRaftRoutes({ id, secret, receive: (messages) => node.driver?.receive(messages) });
  await new Promise<void>((resolve) => {
    node.server = serve({ fetch: node.routes.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      node.url = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
  nodes.push(node);
  return node;
}

function startDriver(node: TestNode, members: readonly Member[], secret: string | undefined): RaftDriver<string> {
  node.applied = [];
  const driver = new RaftDriver<string>({
    id: node.id,
    storage: new FileStorage({ dir: join(work, node.id) }),
    transport: new HttpRaftTransport({ id: node.id, secret, timeoutMs: 300 }),
    bootstrap: members,
    apply: (command) => node.applied.push(command),
    snapshot: () => [...node.applied],
    restore: (data) => {
      node.applied = [...(data as string[])];
    },
    tickMs: 20, // elections in 200–400 ms: a quick test
    snapshotEvery: 50,
  });
  node.driver = driver;
  driver.start();
  return driver;
}

async function cluster(prefix: string, secret?: string): Promise<TestNode[]> {
  const group = await Promise.all(['a', 'b', 'c'].map((s) => listen(`${prefix}-${s}`, secret)));
  const members = group.map((n) => ({ id: n.id, address: n.url }));
  for (const n of group) startDriver(n, members, secret);
  return group;
}

/** Polls until `probe` gives a value; the deadline only says when it is declared never coming. */
async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const leaderOf = (group: TestNode[]): TestNode | undefined => group.find((n) => n.driver?.isLeader === true);

afterEach(async () => {
  for (const n of nodes.splice(0)) {
    await n.driver?.stop();
    await new Promise<void>((r) => {
      n.server.close(() => r());
      (n.server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }
});

describe('Raft over HTTP, three drivers in one process', () => {
  it('elects a leader, commits proposals everywhere, and elects another when the leader stops', async () => {
    const group = await cluster('e');
    const changes: Array<[string | undefined, number, boolean]> = [];
    for (const n of group) n.driver?.onLeaderChange((leaderId, term, isMe) => isMe && changes.push([leaderId, term, isMe]));
    const first = await waitFor('a leader', () => leaderOf(group));
    const follower = group.find((n) => n !== first) as TestNode;
    await waitFor('the follower to know the leader', () => (follower.driver?.leaderId === first.id ? true : undefined));
    await expect(follower.driver?.propose('from-follower')).rejects.toMatchObject({ code: 'NOT_LEADER', details: { leaderId: first.id } });
    const pos = await first.driver?.propose('x1');
    expect(pos?.index).toBeGreaterThan(1);
    expect(first.applied).toEqual(['x1']);
    await waitFor('x1 everywhere', () => (group.every((n) => n.applied.includes('x1')) ? true : undefined));
    // A linearizable read on the leader; a local read on a follower says it may be stale.
    expect(await first.driver?.readIndex()).toBeGreaterThanOrEqual(pos?.index ?? 0);
    const local = await follower.driver?.read(() => follower.applied.length, { consistency: 'local' });
    expect(local?.possiblyStale).toBe(true);
    await expect(follower.driver?.readIndex()).rejects.toMatchObject({ code: 'NOT_LEADER' });
    const status = first.driver?.status();
    expect(status?.role).toBe('leader');
    expect(status?.peers.map((p) => p.id).sort()).toEqual(group.filter((n) => n !== first).map((n) => n.id).sort());
    expect(status?.peers.every((p) => p.url?.startsWith('http://') && (p.matchIndex ?? 0) >= (pos?.index ?? 0))).toBe(true);

    await first.driver?.stop();
    const survivors = group.filter((n) => n !== first);
    const second = await waitFor('a new leader', () => leaderOf(survivors));
    expect(second.driver?.term).toBeGreaterThan(pos?.term ?? 0);
    await second.driver?.propose('x2');
    await waitFor('x2 on both survivors', () => (survivors.every((n) => n.applied.join() === 'x1,x2') ? true : undefined));
    expect(changes.map(([id]) => id)).toEqual([first.id, second.id]);

    // The stopped node restarts from its file and catches up.
    startDriver(first, group.map((n) => ({ id: n.id, address: n.url })), undefined);
    await waitFor('the restarted node to catch up', () => (first.applied.join() === 'x1,x2' ? true : undefined));
    expect(first.driver?.leaderId).toBe(second.id);
  }, 120_000);

  it('hands leadership over on request (graceful shutdown)', async () => {
    const group = await cluster('t');
    const leader = await waitFor('a leader', () => leaderOf(group));
    await leader.driver?.propose('before');
    const target = group.find((n) => n !== leader) as TestNode;
    expect(await leader.driver?.transferLeadership(target.id)).toBe(target.id);
    await waitFor('the target to lead', () => (target.driver?.isLeader ? true : undefined));
    await target.driver?.propose('after');
    await waitFor('after everywhere', () => (group.every((n) => n.applied.join() === 'before,after') ? true : undefined));
  }, 120_000);

  it('with a cluster secret, works among nodes that share it and rejects unsigned, forged and replayed requests', async () => {
    const secret = 'a-cluster-secret-of-some-length';
    const group = await cluster('s', secret);
    const leader = await waitFor('a leader', () => leaderOf(group));
    await leader.driver?.propose('signed');
    const target = group[0] as TestNode;
    const body = encodeRaftBatch({ from: 'intruder', to: target.id, messages: [{ type: 'timeoutNow', from: 'intruder', to: target.id, term: 99 }] });
    const post = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${target.url}/raft/message`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const before = target.routes.stats.rejected;
    expect((await post({})).status).toBe(401);
    const ts = Date.now();
    const nonce = 'ab'.repeat(16);
    expect((await post({ 'x-raft-timestamp': String(ts), 'x-raft-nonce': nonce, 'x-raft-signature': signRaftRequest('the-wrong-secret-entirely', ts, nonce, body) })).status).toBe(401);
    const stale = ts - 120_000;
    expect((await post({ 'x-raft-timestamp': String(stale), 'x-raft-nonce': nonce, 'x-raft-signature': signRaftRequest(secret, stale, nonce, body) })).status).toBe(401);
    expect(target.routes.stats.rejectedUnauthenticated).toBeGreaterThanOrEqual(3);
    // A correctly signed request is accepted once; the same bytes again are a replay.
    const signed = { 'x-raft-timestamp': String(ts), 'x-raft-nonce': nonce, 'x-raft-signature': signRaftRequest(secret, ts, nonce, body) };
    expect((await post(signed)).status).toBe(204);
    expect((await post(signed)).status).toBe(401);
    expect(target.routes.stats.rejectedReplayed).toBe(1);
    expect(target.routes.stats.rejected).toBe(before + 4);
    // A malformed batch, even signed, is a 400 with a message saying what is wrong.
    const bad = JSON.stringify({ from: 'x', to: target.id, messages: [{ type: 'append', from: 'x', to: target.id, term: -1 }] });
    const n2 = 'cd'.repeat(16);
    const res = await fetch(`${target.url}/raft/message`, {
      method: 'POST',
      headers: { 'x-raft-timestamp': String(ts), 'x-raft-nonce': n2, 'x-raft-signature': signRaftRequest(secret, ts, n2, bad) },
      body: bad,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/messages\.0\.term/);
    await waitFor('the cluster to keep working', () => (group.every((n) => n.applied.includes('signed')) ? true : undefined));
  }, 120_000);
});

describe('HttpRaftTransport answers and direct ports', () => {
  const opened: ServerType[] = [];
  afterAll(() => {
    for (const s of opened) s.close();
  });
  const serveFetch = (fetch: (r: Request) => Response | Promise<Response>): Promise<string> =>
    new Promise((resolve) => {
      opened.push(serve({ fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => resolve(`http://127.0.0.1:${info.port}`)));
    });
  const heartbeat = { type: 'heartbeat', from: 'q', to: 'p', term: 2, commit: 0, context: '' } as const;
  const answer = { type: 'appendResponse', from: 'p', to: 'q', term: 2, index: 0, reject: false, rejectHint: 0, rejectHintTerm: 0 } as const;

  it("a peer's answers come back in the response body, signed for that request; a forged one is dropped", async () => {
    const secret = 'a-cluster-secret-of-some-length';
    const p = createRaftRoutes({ id: 'p', secret, receive: () => [answer] });
    const forger = createRaftRoutes({ id: 'p', secret: 'another-secret-of-some-length', receive: () => [answer] });
    // The forger checks requests with its own secret: let it accept ours, then sign its answer wrongly.
    const url = await serveFetch(p.fetch);
    const forgedUrl = await serveFetch(async (r) => {
      const body = await r.text();
      const res = await forger.fetch(new Request(r.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
      return res.status === 401 ? new Response(encodeRaftBatch({ from: 'p', to: 'q', messages: [answer] }), { status: 200, headers: { 'x-raft-signature': 'ab'.repeat(32) } }) : res;
    });
    const got: string[] = [];
    const t = new HttpRaftTransport({ id: 'q', secret, peers: { p: url, f: forgedUrl }, probeDirectEveryMs: 0, onReply: (ms) => got.push(...ms.map((m) => `${m.from}:${m.type}`)) });
    t.send('p', [heartbeat]);
    await waitFor('the answer', () => (got.length > 0 ? true : undefined));
    expect(got).toEqual(['p:appendResponse']);
    t.send('f', [{ ...heartbeat, to: 'f' }]);
    await waitFor('the forged answer dropped', () => (t.stats.repliesDropped === 1 ? true : undefined));
    expect(got).toEqual(['p:appendResponse']);
    t.close();
  });

  it("posts to a peer's direct port once an answer names it, and back to its URL when that fails", async () => {
    const seen: string[] = [];
    const routesAt = (where: string) => createRaftRoutes({ id: 'p', receive: () => void seen.push(where) });
    const direct = routesAt('direct');
    const directUrl = await serveFetch(direct.fetch);
    let directUp = true;
    const viaUrl = routesAt('url');
    const url = await serveFetch(async (r) => {
      const res = await viaUrl.fetch(r);
      return new Response(res.body, { status: res.status, headers: { 'x-raft-direct-port': new URL(directUrl).port } });
    });
    const t = new HttpRaftTransport({ id: 'q', peers: { p: url }, probeDirectEveryMs: 0, fetch: (input, init) => (directUp || !String(input).startsWith(directUrl) ? fetch(input, init) : Promise.reject(new Error('connection refused'))) });
    const sendAndWait = async (n: number) => {
      t.send('p', [heartbeat]);
      await waitFor(`message ${n}`, () => (seen.length === n && t.stats.batchesSent === n ? true : undefined));
    };
    await sendAndWait(1);
    await sendAndWait(2);
    expect(seen).toEqual(['url', 'direct']);
    directUp = false;
    t.send('p', [heartbeat]); // fails: the direct port is forgotten
    await waitFor('the failure', () => (t.stats.requestsFailed === 1 ? true : undefined));
    await sendAndWait(3);
    expect(seen).toEqual(['url', 'direct', 'url']);
    t.close();
  });
});

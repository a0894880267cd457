// The leader's view of worker liveness: a killed node is seen by its closed connection, a frozen one by its lease, and a loaded one is never removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { RegistryMembership } from '../../src/scheduler/membership.js';
import { createKeys } from '../../src/store/keys.js';
import { WorkerStore } from '../../src/store/worker-store.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { until } from '../helpers/poll.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const redisUrl = inject('redisUrl');
const redis = new Redis(redisUrl);
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  redis.disconnect();
});

/**
 * A worker node as the leader sees it: a process that registers through its own connection, with
 * that connection's client id, every 500 ms, running tasks (`busy`). With `blockMs`, its event
 * loop is also blocked that long after every heartbeat (batch results handled on the main thread).
 */
function startWorker(workersKey: string, id: string, blockMs = 0): ChildProcess {
  const script = `import { Redis } from 'ioredis';
const r = new Redis(${JSON.stringify(redisUrl)});
const conn = Number(await r.client('ID'));
const beat = async () => r.hset(${JSON.stringify(workersKey)}, ${JSON.stringify(id)}, JSON.stringify({ id: ${JSON.stringify(id)}, threads: 1, host: 'h', pid: process.pid, startedAt: 0, heartbeatAt: Date.now(), busy: 1, draining: false, conn }));
await beat();
console.log('registered');
setInterval(() => {
  void beat();
  const until = Date.now() + ${blockMs};
  while (Date.now() < until) {}
}, 500);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

function output(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before "${text}": ${out}`)));
  });
}

describe('RegistryMembership liveness', () => {
  it('removes a killed node (closed connection) and a frozen one (lapsed lease), never a loaded one', async () => {
    const keys = createKeys(uniquePrefix('liveness'));
    const store = new WorkerStore(new Redis(redisUrl), keys);
    const registry = new RegistryMembership(store, { leaseMs: 2000 });
    // With a lease no test outlasts, only the closed connection can tell that a node died.
    const connectionsOnly = new RegistryMembership(store, { leaseMs: 600_000 });
    // Full CPU load on every core besides the loaded worker's own blocked event loop.
    for (let i = 0; i < availableParallelism(); i++) children.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    const loaded = startWorker(keys.workers, 'loaded', 300);
    const killed = startWorker(keys.workers, 'killed');
    const frozen = startWorker(keys.workers, 'frozen');
    await Promise.all([output(loaded, 'registered'), output(killed, 'registered'), output(frozen, 'registered')]);
    await registry.start();
    // Every time the loaded node is not live, counted (it never should be).
    let removals = 0;
    let wasLive = true;
    const look = () => {
      const live = registry.current().some((n) => n.id === 'loaded');
      if (wasLive && !live) removals++;
      wasLive = live;
    };
    registry.onChange(look);
    const sampler = setInterval(look, 50);
    try {
      await until('every node live', 20_000, () => registry.current().length === 3, 50);

      // It reads before the kill too: a registration is looked up by its connection once rewritten since this reader connected.
      let seen = false;
      await connectionsOnly.refresh();
      await new Promise((r) => setTimeout(r, 600));
      killed.kill('SIGKILL');
      await until('the killed node gone', 20_000, () => registry.departed().some((d) => d.id === 'killed' && d.lapsed), 50);
      const reading = (async () => {
        while (!seen) {
          await connectionsOnly.refresh();
          seen = connectionsOnly.departed().some((d) => d.id === 'killed' && d.lapsed);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await until('the killed node gone by its connection alone', 20_000, () => seen, 50);
      await reading;

      frozen.kill('SIGSTOP'); // alive, connection open, silent: only its lease can tell
      await until('the frozen node gone', 20_000, () => registry.departed().some((d) => d.id === 'frozen' && d.lapsed), 50);
      frozen.kill('SIGCONT');
      frozen.kill('SIGKILL');

      // A few more leases under load.
      await new Promise((r) => setTimeout(r, 6000));
    } finally {
      clearInterval(sampler);
      registry.stop();
    }
    expect(removals).toBe(0);
    expect(registry.current().map((n) => n.id)).toEqual(['loaded']);
  }, 60_000);
});

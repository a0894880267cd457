// Redis's MONITOR in a redis-cli process of its own (ioredis's monitor mode can misread a reply arriving as it starts or stops): what every client and script sent, in order.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { until } from './poll.js';

/** A command as MONITOR printed it: `source` is `lua` for a script's, else the client's address. Quotes dropped. */
export interface MonitoredCommand {
  readonly source: string;
  readonly command: string;
}

export interface RedisMonitor {
  /** Everything seen so far, in order. */
  readonly sent: readonly MonitoredCommand[];
  /** Waits until what was sent before this call has been seen (a probe read through `redis`, which MONITOR prints after them). */
  settle(redis: Redis): Promise<void>;
  stop(): void;
}

/** Starts watching the Redis at `url`; resolves once redis-cli says it is monitoring. */
export async function monitorRedis(url: string): Promise<RedisMonitor> {
  const watcher = spawn('redis-cli', ['-u', url, 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const sent: MonitoredCommand[] = [];
  let buffered = '';
  // Each line: `<time> [<db> <client|lua>] "<command>" …`.
  watcher.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (buffered + chunk).split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^\S+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (m !== null) sent.push({ source: m[1] as string, command: (m[2] as string).replace(/"/g, '') });
    }
  });
  await once(watcher.stdout, 'data'); // redis-cli's "OK": monitoring
  let probes = 0;
  return {
    sent,
    async settle(redis) {
      const probe = `ringpool-monitor-probe-${process.pid}-${++probes}`;
      await redis.exists(probe);
      await until('the monitor to see the probe', 10_000, () => sent.some((s) => s.source !== 'lua' && s.command.toLowerCase() === `exists ${probe}`));
    },
    stop: () => void watcher.kill('SIGKILL'),
  };
}

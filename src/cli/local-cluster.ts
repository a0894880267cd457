// The Redis pair `ringpool start` runs when no --redis is given: master (AOF) + one replica, stopped on exit.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalRedis, waitForReplicaLink, type LocalRedis } from '../store/local-redis.js';

export interface LocalRedisPair {
  readonly masterUrl: string;
  readonly replicaUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts master + replica under `dir`. The master refuses writes unless a replica is connected
 * and at most 10 s behind (`min-replicas-to-write 1`), so the local default is durable.
 */
export async function startLocalRedisPair(dir: string): Promise<LocalRedisPair> {
  const pidFile = join(dir, 'redis.pids');
  killStale(pidFile);
  const master = await startLocalRedis({ dir, appendOnly: true, minReplicasToWrite: 1, minReplicasMaxLag: 10 });
  let replica: LocalRedis;
  try {
    replica = await startLocalRedis({ dir, replicaOf: { host: '127.0.0.1', port: master.port } });
    writeFileSync(pidFile, `${master.pid}\n${replica.pid}\n`);
    await waitForReplicaLink(replica.url);
  } catch (err) {
    await master.stop();
    throw err;
  }
  // A process that exits without stop() (a second Ctrl-C, the drain limit, a stuck watchdog: all
  // process.exit) must not leave its pair running: SIGTERM on the way out (Redis then saves its AOF
  // and exits by itself; a synchronous kill is all an exit handler can do).
  const onExit = () => {
    for (const pid of [replica.pid, master.pid]) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone already
      }
    }
  };
  process.once('exit', onExit);
  return {
    masterUrl: master.url,
    replicaUrl: replica.url,
    async stop() {
      process.removeListener('exit', onExit);
      await replica.stop();
      await master.stop();
      rmSync(pidFile, { force: true });
    },
  };
}

/** A previous run killed with SIGKILL could not stop its Redis pair: stop it now. */
function killStale(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  for (const line of readFileSync(pidFile, 'utf8').split('\n')) {
    const pid = Number(line);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server')) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

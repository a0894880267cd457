// Where a bench's Redis time goes: the master's own CPU per command and per script, per job.
import type { Redis } from 'ioredis';

/** Starts counting: resets Redis's command statistics and logs every command to the slow log. */
export async function startRedisCost(redis: Redis): Promise<void> {
  await redis.config('RESETSTAT');
  await redis.config('SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '1000000');
  await redis.slowlog('RESET');
}

/**
 * Stops counting and returns rows of µs of Redis CPU per job by command, and by script: named
 * when `named` (any ioredis clients with the scripts defined) knows its SHA, else by its SHA and
 * its first key's last part (BullMQ's scripts: `…:wait`, `…:stalled`).
 */
export async function redisCostPerJob(redis: Redis, jobs: number, named: readonly Redis[]): Promise<Array<[string, string, string, string]>> {
  await redis.config('SET', 'slowlog-log-slower-than', '10000');
  const names = new Map<string, string>();
  for (const client of named) {
    const set = (client as unknown as { scriptsSet?: Record<string, { sha: string }> }).scriptsSet ?? {};
    for (const [name, script] of Object.entries(set)) names.set(script.sha, name);
  }
  const scripts = new Map<string, { calls: number; micros: number }>();
  for (const [, , micros, args] of (await redis.slowlog('GET', 1_000_000)) as Array<[number, number, number, string[]]>) {
    if (String(args[0]).toLowerCase() !== 'evalsha') continue;
    const sha = String(args[1]);
    const label = names.get(sha) ?? `${sha.slice(0, 8)} (${String(args[3] ?? '').split(':').pop()})`;
    const row = scripts.get(label) ?? { calls: 0, micros: 0 };
    row.calls++;
    row.micros += micros;
    scripts.set(label, row);
  }
  const commands = [...(await redis.info('commandstats')).matchAll(/^cmdstat_(\S+):calls=(\d+),usec=(\d+)/gm)].map((m) => ({
    label: m[1] as string,
    calls: Number(m[2]),
    micros: Number(m[3]),
  }));
  const rows = (kind: string, list: Array<{ label: string; calls: number; micros: number }>) =>
    list
      .filter((r) => r.calls > 0)
      .sort((a, b) => b.micros - a.micros)
      .map((r) => [`${kind} ${r.label}`, (r.calls / jobs).toFixed(2), (r.micros / jobs).toFixed(1), (r.micros / r.calls).toFixed(1)] as [string, string, string, string]);
  return [
    ['Redis master, per job', 'calls', 'µs', 'µs per call'],
    ...rows('command', commands),
    ...rows('script', [...scripts].map(([label, r]) => ({ label, ...r }))),
  ];
}

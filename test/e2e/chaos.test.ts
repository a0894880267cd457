// A short fixed-seed slice of the chaos harness (npm run chaos): the cheap fault kinds against a `cluster up` cluster, and no job wrong, failed, stuck or lost.
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/chaos/chaos.js';
import { CHEAP_FAULT_KINDS } from '../../bench/chaos/schedule.js';

describe('chaos slice', () => {
  it('a minute of leader and worker kills, scheduler and worker pauses and a worker cut from Redis: every accepted job ends with the serial answer', async () => {
    const lines: string[] = [];
    const { report, faultLog, badJobs } = await runChaos({
      minutes: 1,
      seed: 2028,
      kinds: CHEAP_FAULT_KINDS,
      gapMs: [1_000, 2_000],
      settleMs: 60_000,
      recoveryTimeoutMs: 30_000,
      onProgress: (line) => lines.push(line),
    });
    const story = `${lines.join('\n')}\n${JSON.stringify(report)}\nbad jobs: ${JSON.stringify(badJobs.slice(0, 10))}`;
    console.log(`chaos slice: ${report.faults} faults, ${report.jobs.accepted} jobs accepted, ${report.jobs.correct} correct; recovery ${JSON.stringify(report.recoveryMs)}`);

    // The slice did what it is for: faults of most kinds were injected while jobs ran.
    expect(new Set(faultLog.filter((f) => f.skipped === undefined).map((f) => f.kind)).size, story).toBeGreaterThanOrEqual(4);
    expect(report.jobs.accepted, story).toBeGreaterThan(50);
    // Safety as the issue counts it (here up to one minute after the heal, where the full run waits two).
    expect({ wrong: report.jobs.wrong, failed: report.jobs.failed, stuck: report.jobs.stuck, lost: report.jobs.lost }, story).toEqual({ wrong: 0, failed: 0, stuck: 0, lost: 0 });
    // Liveness: after every fault every process is ready again (a killed one restarted by `cluster up`).
    expect(faultLog.filter((f) => f.skipped === undefined && f.recoveryMs === null).map((f) => `#${f.n} ${f.kind}: ${f.notReady?.join(',')}`), story).toEqual([]);
  }, 240_000);
});

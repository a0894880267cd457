// Closing a worker node's queue connection cannot spin the event loop (the hang behind a CI timeout).
import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { uniquePrefix } from '../helpers/prefix.js';

const CHILD = new URL('../fixtures/processes/bullmq-close.ts', import.meta.url).pathname;

/** Runs the child; undefined when it had to be killed (its event loop never came back). */
async function timerTicks(mode: 'seal' | 'disconnect', killAfterMs: number): Promise<number | undefined> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, inject('redisUrl'), uniquePrefix(`close-${mode}`), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await new Promise((r) => child.once('exit', r));
  clearTimeout(killer);
  const m = /ticks (\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

/*
 * BullMQ retries a command that failed with "Connection is closed." at once and without end while
 * its worker closes (Worker.retryIfFailed), so a connection disconnected under an entry still in
 * flight spins the process: no timer fires again. A vitest fork stuck that way held CI until its
 * 90-minute limit. The worker node closes its queue connection with closeBullmqConnection instead.
 */
describe('closing the queue connection of a BullMQ worker with an entry in flight', () => {
  it('a plain disconnect spins the event loop; closeBullmqConnection leaves it running', async () => {
    // A child that spins never exits by itself: the spinning one is killed after 10 s.
    const [sealed, disconnected] = [await timerTicks('seal', 40_000), await timerTicks('disconnect', 10_000)];
    console.info(`[bullmq-close] timer ticks in 2 s: sealed ${sealed}, plain disconnect ${disconnected ?? 'none (killed)'}`);
    expect(sealed).toBeGreaterThanOrEqual(10);
    // The hazard itself, so this test notices if BullMQ ever stops spinning (then the seal may go).
    expect(disconnected ?? 0).toBeLessThan(5);
  }, 60_000);
});

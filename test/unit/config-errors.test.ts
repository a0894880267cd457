// Every option check throws the one configuration error (code CONFIG), which the CLI maps to one exit code.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { CONFIG_EXIT_CODE, exitCodeOf, main } from '../../src/cli/main.js';
import { RingpoolError, serializeError } from '../../src/errors.js';
import { isNodeId } from '../../src/node-id.js';
import { createKeys } from '../../src/store/keys.js';
import { mountDashboard } from '../../src/ui/routes.js';
import { TaskPool } from '../../src/worker/task-pool.js';
import { WorkerNode, type WorkerNodeDeps } from '../../src/worker/worker-node.js';

/** What an option check threw, as the CLI would see it. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('configuration errors', () => {
  it.each([
    ['a Redis key prefix', () => createKeys('no spaces'), /Redis key prefix must be 1-64 of \[A-Za-z0-9:_-\], got "no spaces"/],
    ['a worker node id', () => new WorkerNode({} as WorkerNodeDeps, { id: 'w 1' }), /worker id must be letters, digits, '_' or '-' \(at most 63\), got "w 1"/],
    ['a thread count', () => new TaskPool({ threads: 0 }), /threads must be an integer >= 1, got 0/],
    ['a dashboard option', () => mountDashboard(new Hono(), { queues: () => [] }, { queueRefreshMs: -1 }), /queueRefreshMs must be an integer >= 0, got -1/],
  ])('%s that is not valid is a CONFIG error saying what was expected', (_what, fn, message) => {
    const err = thrownBy(fn);
    expect(err).toBeInstanceOf(RingpoolError);
    expect(err).toMatchObject({ code: 'CONFIG', message: expect.stringMatching(message) });
    expect(exitCodeOf(err)).toBe(CONFIG_EXIT_CODE);
  });

  it('the CLI exits with one code for a configuration error, by its code (also after a thread hop), and 1 for anything else', () => {
    expect(exitCodeOf(new RingpoolError('CONFIG', 'bad'))).toBe(2);
    expect(exitCodeOf(serializeError(new RingpoolError('CONFIG', 'bad')))).toBe(2);
    expect(exitCodeOf(new RingpoolError('REDIS_UNAVAILABLE', 'down'))).toBe(1);
    expect(exitCodeOf(new Error('boom'))).toBe(1);
    expect(exitCodeOf(undefined)).toBe(1);
  });

  it('a setting that is not valid ends `ringpool config` with that code', async () => {
    const original = console.error;
    const said: string[] = [];
    console.error = (line: string) => void said.push(line);
    try {
      expect(await main(['config', '--port', 'abc'])).toBe(CONFIG_EXIT_CODE);
    } finally {
      console.error = original;
    }
    expect(said.join('\n')).toMatch(/port \(--port or RINGPOOL_PORT\)/);
  });

  it('a command line the CLI cannot parse (an unknown flag, a flag without its value) is a usage error, as an unknown command is', async () => {
    const original = console.error;
    const said: string[] = [];
    console.error = (line: string) => void said.push(line);
    try {
      expect(await main(['config', '--no-such-flag'])).toBe(CONFIG_EXIT_CODE);
      expect(await main(['config', '--port'])).toBe(CONFIG_EXIT_CODE);
      expect(await main(['no-such-command'])).toBe(CONFIG_EXIT_CODE);
    } finally {
      console.error = original;
    }
    expect(said.join('\n')).toMatch(/--no-such-flag/);
  });

  it('a bad --workers range: `start` and `cluster up` refuse it with the same message, before starting anything', async () => {
    const original = console.error;
    const said: string[] = [];
    console.error = (line: string) => void said.push(line);
    const dir = mkdtempSync(join(tmpdir(), 'ringpool-workers-range-'));
    try {
      for (const range of ['4..1', '0', '-1..2']) {
        said.length = 0;
        expect(await main(['start', '--workers', range, '--data-dir', join(dir, 'start')]), `start ${range}`).toBe(CONFIG_EXIT_CODE);
        expect(await main(['cluster', 'up', `--workers=${range}`, '--dir', join(dir, 'cluster')]), `cluster up ${range}`).toBe(CONFIG_EXIT_CODE);
        const [start, cluster] = said.map((line) => line.replace(/^ringpool (start|cluster up): /, ''));
        if (range !== '-1..2') expect(start).toBe(`--workers ${range}: give auto, N (1 or more) or MIN..MAX with MIN <= MAX and MAX >= 1, e.g. 0..4`);
        // -1..2 is refused by the setting's pattern for `start`, by the range check for `cluster up`.
        expect(cluster, said.join('\n')).toBe(`--workers ${range}: give auto, N (1 or more) or MIN..MAX with MIN <= MAX and MAX >= 1, e.g. 0..4`);
      }
      // Refused before anything was started or written.
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      console.error = original;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('node ids: a letter or digit first, then up to 62 of letters, digits, _ and -', () => {
    for (const id of ['w1', 'W-1_a', '0', `a${'b'.repeat(62)}`]) expect(isNodeId(id), id).toBe(true);
    for (const id of ['', '-w1', '_w', 'w 1', 'w.1', 'w/1', `a${'b'.repeat(63)}`]) expect(isNodeId(id), id).toBe(false);
  });
});

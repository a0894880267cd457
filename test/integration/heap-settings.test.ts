// Every ringpool process keeps its young generation small and its old generation close to what it
// holds (src/node/heap-settings.ts); a setting named on Node's command line stays the operator's.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const CHILD = new URL('../fixtures/processes/heap-settings.ts', import.meta.url).pathname;

async function run(nodeArgs: string[], arg = ''): Promise<{ applied: string[]; youngMb: number }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CHILD, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise((r) => child.once('exit', r));
  expect(code, err).toBe(0);
  return JSON.parse(out.trim()) as { applied: string[]; youngMb: number };
}

describe('heap settings', () => {
  it('keep the young generation at its starting size under the allocation that grows it without them', async () => {
    const [without, withSettings] = await Promise.all([run([], 'none'), run([])]);
    expect(without.youngMb).toBeGreaterThan(4); // V8 grows it under this load: the check below means something
    expect(withSettings.applied).toEqual(['--heap-growing-percent=20', '--semi-space-growth-factor=1']);
    expect(withSettings.youngMb).toBeLessThanOrEqual(4);
  }, 60_000);

  it("leave a setting named on Node's command line to the operator, in either spelling", async () => {
    const seen = await run(['--heap_growing_percent=50']);
    expect(seen.applied).toEqual(['--semi-space-growth-factor=1']);
  }, 60_000);
});

// The folder of compiled job modules and thread bundles (src/registry/deployed-modules.ts): files no process used for a week are swept, files in use are kept fresh.
import { existsSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SWEEP_AFTER_MS, sweepModuleFolder, writeOnce } from '../../src/registry/deployed-modules.js';

const dir = mkdtempSync(join(tmpdir(), 'ringpool-module-folder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file in `dir` last modified `ageMs` ago. */
function fileAged(name: string, ageMs: number): string {
  const file = join(dir, name);
  writeFileSync(file, `module.exports = ${JSON.stringify(name)};`);
  const then = new Date(Date.now() - ageMs);
  utimesSync(file, then, then);
  return file;
}

describe('the module folder', () => {
  it('removes what nobody used for a week (old bundles, half-written temporary files) and keeps the rest', () => {
    const week = SWEEP_AFTER_MS;
    const stale = fileAged('stamp-0000000000000001.deployed.cjs', week + 60_000);
    const halfWritten = fileAged('thread-entry-0000000000000002.cjs.4242.k3j2', week + 60_000);
    const recent = fileAged('stamp-0000000000000003.deployed.cjs', week - 60 * 60_000);
    expect(sweepModuleFolder(dir)).toBe(2);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(halfWritten)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    // Nothing left to sweep: a second sweep (another process starting) removes nothing.
    expect(sweepModuleFolder(dir)).toBe(0);
  });

  it('marks a file this process finds already written as used now, so no sweep of the host takes it', () => {
    const old = fileAged('primes-0000000000000004.compiled.cjs', SWEEP_AFTER_MS + 60_000);
    expect(writeOnce(old, 'ignored: the file is there')).toBe(old);
    expect(Date.now() - statSync(old).mtimeMs).toBeLessThan(SWEEP_AFTER_MS / 2);
    // Even a week on (the sweep's clock moved), this process's files stay: its threads may load them again.
    sweepModuleFolder(dir, Date.now() + 2 * SWEEP_AFTER_MS);
    expect(existsSync(old)).toBe(true);
  });

  it('is a no-op on a folder that does not exist yet', () => {
    expect(sweepModuleFolder(join(dir, 'absent'))).toBe(0);
  });
});

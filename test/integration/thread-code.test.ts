// Job modules prebuilt as JavaScript for worker threads keep what they meant: their own URL, their packages; otherwise they keep their TypeScript path.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { jobModuleForThreads, threadEntry } from '../../src/registry/thread-code.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/prebuild/${name}`, import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'ringpool-prebuild-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('prebuilt job modules', () => {
  it('a module\'s import.meta.url is still its source file\'s, and the same source gives the same file', async () => {
    const built = jobModuleForThreads(fixture('reads-own-url.ts'));
    expect(built).toMatch(/node_modules\/\.cache\/ringpool\/reads-own-url-[0-9a-f]{16}\.mjs$/);
    const loaded = (await import(pathToFileURL(built).href)) as { own: string };
    expect(loaded.own).toBe(pathToFileURL(fixture('reads-own-url.ts')).href);
    expect(jobModuleForThreads(fixture('reads-own-url.ts'))).toBe(built);
  });

  it('a module whose helper reads import.meta keeps its TypeScript path; one with a plain helper is bundled with it', async () => {
    expect(jobModuleForThreads(fixture('uses-helper.ts'))).toBe(fixture('uses-helper.ts'));
    const built = jobModuleForThreads(fixture('uses-plain-helper.ts'));
    expect(built).toMatch(/\.mjs$/);
    expect(((await import(pathToFileURL(built).href)) as { default: { helperValue: number } }).default.helperValue).toBe(7);
  });

  it('a module whose packages resolve elsewhere (its own node_modules) keeps its TypeScript path', () => {
    const dir = join(temp, 'jobs');
    mkdirSync(join(dir, 'node_modules', 'own-package'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'own-package', 'package.json'), JSON.stringify({ name: 'own-package', version: '1.0.0', type: 'module', main: 'index.js' }));
    writeFileSync(join(dir, 'node_modules', 'own-package', 'index.js'), 'export const answer = 42;\n');
    writeFileSync(join(dir, 'uses-own-package.ts'), "import { answer } from 'own-package';\nexport default { answer };\n");
    expect(jobModuleForThreads(join(dir, 'uses-own-package.ts'))).toBe(join(dir, 'uses-own-package.ts'));
  });

  it('a thread runner is prebuilt with the named export as its default, whatever the working directory', async () => {
    const source = new URL('../../src/worker/task-runner.ts', import.meta.url);
    const cwd = process.cwd();
    let entry: string;
    try {
      process.chdir(temp);
      entry = threadEntry(source, 'runTasks', new URL('file:///fallback-entry.mjs'));
    } finally {
      process.chdir(cwd);
    }
    expect(entry).toMatch(/node_modules\/\.cache\/ringpool\/task-runner\.runTasks-[0-9a-f]{16}\.mjs$/);
    expect(typeof ((await import(entry)) as { default: unknown }).default).toBe('function');
  });

  it('a JavaScript module is used as it is; a runner that cannot be built falls back to its loader entry', () => {
    expect(jobModuleForThreads('/somewhere/job.mjs')).toBe('/somewhere/job.mjs');
    const fallback = new URL('file:///fallback-entry.mjs');
    expect(threadEntry(new URL('file:///no/such/runner.ts'), 'run', fallback)).toBe(fallback.href);
  });
});

// A node compiles what its threads load once (its own thread code in the repo, the folders' job modules): the threads run plain JavaScript, no tsx.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPILED_SUFFIX } from '../../src/registry/deployed-loader.js';
import { loadJobModule } from '../../src/registry/thread-modules.js';
import { threadEntry, threadModule } from '../../src/registry/thread-code.js';
import { TaskPool } from '../../src/worker/task-pool.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/jobs/${name}.ts`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ringpool-thread-code-'));
let pool: TaskPool | undefined;
afterAll(async () => {
  await pool?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A folder of the user's: a job module and the packages its own node_modules holds, one CommonJS and one ES module only. */
function userFolder(): string {
  const folder = join(dir, 'jobs');
  const pkg = (name: string, type: 'commonjs' | 'module', code: string) => {
    mkdirSync(join(folder, 'node_modules', name), { recursive: true });
    writeFileSync(join(folder, 'node_modules', name, 'package.json'), JSON.stringify({ name, type, main: 'index.js' }));
    writeFileSync(join(folder, 'node_modules', name, 'index.js'), code);
  };
  pkg('cjs-double', 'commonjs', 'module.exports = (x) => 2 * x;');
  pkg('esm-triple', 'module', 'export const triple = (x) => 3 * x;');
  writeFileSync(join(folder, '_helper.ts'), 'export const plusOne = (x: number): number => x + 1;\n');
  writeFileSync(
    join(folder, 'packages.ts'),
    [
      "import { z } from 'zod';",
      "import { defineJob } from 'ringpool/sdk';",
      "import double from 'cjs-double';",
      "import { triple } from 'esm-triple';",
      "import { plusOne } from './_helper.js';",
      "export default defineJob({ name: 'packages', input: z.object({}), *split() { yield 1; }, run: (x: number) => plusOne(double(x) + triple(x)), reduce: (r: number[]) => r });",
    ].join('\n'),
  );
  return join(folder, 'packages.ts');
}

describe('code compiled for the threads', () => {
  it("a task thread runs ringpool's code and a folder's job module with no tsx hook and no TypeScript file loaded", async () => {
    const modulePath = await threadModule(fixture('thread-loader'));
    expect(modulePath.endsWith(COMPILED_SUFFIX)).toBe(true);
    pool = new TaskPool({ threads: 1 });
    const { outcomes } = await pool.run({ modulePath, jobId: 'thread-code', attempt: 0, tasks: [[0, 0]], timeoutMs: 60_000, memoryMb: 256 });
    const [outcome] = outcomes;
    expect(outcome?.ok).toBe(true);
    expect(JSON.parse((outcome as { json: string }).json)).toEqual({ typeScriptHook: false, typeScriptFiles: [] });
  });

  it("a compiled module's error keeps its stack in the module's own TypeScript file and line", async () => {
    pool ??= new TaskPool({ threads: 1 });
    const modulePath = await threadModule(fixture('throws'));
    expect(modulePath.endsWith(COMPILED_SUFFIX)).toBe(true);
    const { outcomes } = await pool.run({ modulePath, jobId: 'thread-code-stack', attempt: 0, tasks: [[0, 7]], timeoutMs: 60_000, memoryMb: 256 });
    const [outcome] = outcomes;
    expect(outcome?.ok).toBe(false);
    const error = (outcome as { error: { message: string; stack?: string } }).error;
    expect(error.message).toBe('task 7 failed on purpose');
    expect(error.stack).toContain(`(${fixture('throws')}:6:`);
  });

  it('a job module is compiled once per process, into a file named by its content', async () => {
    const first = await threadModule(fixture('thread-loader'));
    expect(await threadModule(fixture('thread-loader'))).toBe(first);
    expect(first).toMatch(/thread-loader-[0-9a-f]{16}\.compiled\.cjs$/);
  });

  it("a module's packages are required from its own folder (an ES module one bundled), its helpers and ringpool/sdk bundled, zod from ringpool", async () => {
    const source = userFolder();
    const compiled = await threadModule(source);
    expect(compiled.endsWith(COMPILED_SUFFIX)).toBe(true);
    const code = readFileSync(compiled, 'utf8');
    expect(code).toContain(JSON.stringify(join(dir, 'jobs', 'node_modules', 'cjs-double', 'index.js')));
    expect(code).not.toMatch(/require\("[^"]*esm-triple/); // bundled: `require` cannot load an ES module under Node 20
    const job = await loadJobModule(compiled);
    expect(job.run(5 as never, undefined as never)).toBe(26);
  });

  it('a module esbuild cannot turn into CommonJS as it is (top-level await) is loaded from its own file, as before', async () => {
    const path = fixture('top-level-await');
    expect(await threadModule(path)).toBe(path);
  });

  it("a module's own import.meta.url is its file's; one whose imported file reads import.meta is loaded from its own file", async () => {
    const folder = join(dir, 'meta');
    mkdirSync(folder, { recursive: true });
    const job = (name: string, run: string) => `import { z } from 'zod';\nimport { defineJob } from 'ringpool/sdk';\n${run}\nexport default defineJob({ name: '${name}', input: z.object({}), *split() { yield 1; }, run: () => here, reduce: (r: string[]) => r });\n`;
    writeFileSync(join(folder, 'own-url.ts'), job('own-url', 'const here = import.meta.url;'));
    writeFileSync(join(folder, '_where.ts'), 'export const where = import.meta.url;\n');
    writeFileSync(join(folder, 'helper-url.ts'), job('helper-url', "import { where as here } from './_where.js';"));
    const own = await threadModule(join(folder, 'own-url.ts'));
    expect(own.endsWith(COMPILED_SUFFIX)).toBe(true);
    expect((await loadJobModule(own)).run(undefined as never, undefined as never)).toBe(pathToFileURL(join(folder, 'own-url.ts')).href);
    expect(await threadModule(join(folder, 'helper-url.ts'))).toBe(join(folder, 'helper-url.ts'));
  });

  it('a deployed bundle is loaded as it is', async () => {
    const path = join(dir, 'v1-0123456789abcdef.deployed.cjs');
    expect(await threadModule(path)).toBe(path);
  });

  it("in the repo, a thread's entry is its bundle with the TypeScript it requires, written once under ringpool's folder", () => {
    const entry = new URL('../../src/worker/thread-entry.cjs', import.meta.url);
    const bundle = threadEntry(entry);
    expect(bundle).toMatch(/[\\/]\.ringpool-modules[\\/]thread-entry-[0-9a-f]{16}\.cjs$/);
    expect(existsSync(bundle)).toBe(true);
    expect(threadEntry(entry)).toBe(bundle);
    expect(readFileSync(bundle, 'utf8')).not.toMatch(/require\("[^"]+\.ts"\)/);
  });
});

// A module to deploy, bundled and checked in a thread of its own: what passes, and the clear refusal of each kind of bad upload.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleJobModule } from '../../src/registry/deploy-bundle.js';
import { checkJobModule } from '../../src/registry/deploy-check.js';
import { moduleFolder } from '../../src/registry/deployed-modules.js';

const header = "import { z } from 'zod';\nimport { defineJob } from 'ringpool/sdk';\n";

async function deployCheck(source: string, timeoutMs = 5_000) {
  const code = await bundleJobModule({ source, filename: 'mod.ts' });
  return await checkJobModule(code, { dir: moduleFolder(), timeoutMs });
}

describe('bundle and check of a module to deploy', () => {
  it('accepts a job: its name, description, result type and input as JSON Schema', async () => {
    const info = await deployCheck(`${header}export default defineJob({ name: 'hello', description: 'hi', input: z.object({ n: z.number().int() }), *split({ n }: { n: number }) { yield n; }, run: (x: number) => x, reduce: (r: number[]) => r });`);
    expect(info).toMatchObject({ name: 'hello', description: 'hi', resultType: 'json', inputSchema: { type: 'object', required: ['n'] } });
  });

  it.each([
    ['a syntax error, with its line', 'const a = 1;\nexport default {', /mod\.ts:2:\d+: Expected/],
    ['a relative import the server cannot read', "import x from './x.js';\nexport default x;", /Could not resolve "\.\/x\.js".*ringpool deploy FILE/],
    ['top-level await', 'await Promise.resolve();\nexport default 1;', /top-level await/],
    ['no default export', 'export const x = 1;', /no default export/],
    ['a default export that is not a job', "export default { name: 'x' };", /lacks split, run, reduce, input/],
    ['a module that throws when imported', "throw new Error('boom at import');", /importing the module threw: boom at import/],
    ['an input schema JSON Schema cannot hold', `${header}export default defineJob({ name: 't', input: z.string().transform((s) => s.length), *split() {}, run: (x: number) => x, reduce: (r: number[]) => r });`, /cannot be represented as JSON Schema/],
    ['a name that is not a job type name', "import { z } from 'zod';\nexport default { name: 'a b', input: z.object({}), split() {}, run() {}, reduce() {} };", /job name "a b" must be/],
  ])('refuses %s with BAD_INPUT saying so', async (_what, source, message) => {
    await expect(deployCheck(source)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(message) });
  });

  it('a module that never finishes loading is stopped at the time limit', async () => {
    await expect(deployCheck('while (true) {}', 1_000)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('within 1000 ms') });
  });

  it('a module that allocates without end is stopped by the heap limit, and the process lives on', async () => {
    const code = await bundleJobModule({ source: 'const a = []; for (;;) a.push(new Array(1e5).fill(1));', filename: 'hog.ts' });
    await expect(checkJobModule(code, { dir: join(tmpdir(), 'unused'), timeoutMs: 30_000, heapMb: 32 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});

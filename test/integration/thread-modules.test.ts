// A thread keeps the deployed versions it last used, a bounded number, and loads an evicted one again when a job of it comes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleJobModule } from '../../src/registry/deploy-bundle.js';
import { moduleFile } from '../../src/registry/deployed-modules.js';
import { DEPLOYED_PER_THREAD, loadJobModule, loadedModuleCount } from '../../src/registry/thread-modules.js';
import { codeDigest } from '../../src/store/job-type-store.js';

const dir = mkdtempSync(join(tmpdir(), 'ringpool-thread-modules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundleFile(n: number): Promise<string> {
  const source = `import { z } from 'zod';\nimport { defineJob } from 'ringpool/sdk';\nexport default defineJob({ name: 'v${n}', input: z.object({}), *split() {}, run: () => ${n}, reduce: (r: number[]) => r });`;
  const code = await bundleJobModule({ source, filename: `v${n}.ts` });
  const file = moduleFile(dir, `v${n}`, codeDigest(code));
  writeFileSync(file, code);
  return file;
}

describe('job modules in a thread', () => {
  it(`keeps at most ${DEPLOYED_PER_THREAD} deployed versions, the most recently used, and reloads an evicted one`, async () => {
    const before = loadedModuleCount();
    const files = await Promise.all(Array.from({ length: DEPLOYED_PER_THREAD + 4 }, (_, i) => bundleFile(i)));
    const first = await loadJobModule(files[0] as string);
    expect(first.run(undefined as never, undefined as never)).toBe(0);
    for (const f of files.slice(1)) await loadJobModule(f);
    expect(loadedModuleCount() - before).toBe(DEPLOYED_PER_THREAD);
    // The most recent one is still the same object; the first was let go and comes back as a new one.
    expect(await loadJobModule(files.at(-1) as string)).toBe(await loadJobModule(files.at(-1) as string));
    const again = await loadJobModule(files[0] as string);
    expect(again).not.toBe(first);
    expect(again.run(undefined as never, undefined as never)).toBe(0);
    expect(loadedModuleCount() - before).toBe(DEPLOYED_PER_THREAD);
  });
});

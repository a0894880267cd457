// `ringpool deploy FILE`, `versions`, `activate` against a running node: the module's relative imports and its folder's packages are bundled in, and a bad module deploys nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { killAllSpawned, spawnRingpool } from '../helpers/processes.js';

describe('ringpool deploy', () => {
  let node: TestNode;
  let dir: string;

  beforeAll(async () => {
    node = await startTestNode({}, 'cli-deploy');
    // A module folder of the user's, outside the repo: a helper file and a package of its own.
    dir = mkdtempSync(join(tmpdir(), 'ringpool-cli-deploy-'));
    mkdirSync(join(dir, 'node_modules', 'left-pad-ish'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'left-pad-ish', 'package.json'), JSON.stringify({ name: 'left-pad-ish', version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(dir, 'node_modules', 'left-pad-ish', 'index.js'), "module.exports = (s, n) => String(s).padStart(n, '0');\n");
    writeFileSync(join(dir, '_helper.ts'), 'export const twice = (x: number): number => 2 * x;\n');
    const module = (extra: string) => `import { z } from 'zod';
import { defineJob } from 'ringpool/sdk';
import pad from 'left-pad-ish';
import { twice } from './_helper.js';
export default defineJob({
  name: 'padded',
  input: z.object({ n: z.number().int().min(1).max(50) }),
  *split({ n }) { for (let i = 1; i <= n; i++) yield i; },
  run: (i: number) => pad(twice(i)${extra}, 4),
  reduce: (r: string[]) => r.join(','),
});
`;
    writeFileSync(join(dir, 'padded.ts'), module(''));
    writeFileSync(join(dir, 'padded-v2.ts'), module(' + 1'));
    writeFileSync(join(dir, 'broken.ts'), 'export default defineJob({');
  }, 120_000);

  afterAll(async () => {
    killAllSpawned();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(...args: string[]) {
    const p = spawnRingpool([...args, '--url', node.url]);
    const { code } = await p.exited;
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  }

  it('deploys a module with its helper and package bundled in; a job runs it; versions and activate follow', async () => {
    const first = await cli('deploy', join(dir, 'padded.ts'));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^deployed padded version 1 \(sha256 [0-9a-f]{12}\): new padded jobs run it/);
    const again = await cli('deploy', join(dir, 'padded.ts'));
    expect(again.stdout).toMatch(/padded version 1 .* is active with this code already: nothing deployed/);
    const submitted = await node.api('/v1/jobs', { body: { job: 'padded', input: { n: 3 } } });
    const job = await node.waitForJob(submitted.body.id);
    expect(job).toMatchObject({ status: 'completed', version: 1 });
    expect((await node.api(`/v1/jobs/${job.id}/result`)).body.result).toBe('0002,0004,0006');

    expect((await cli('deploy', join(dir, 'padded-v2.ts'))).stdout).toMatch(/^deployed padded version 2 /);
    const versions = await cli('versions', 'padded');
    expect(versions.stdout.trim().split('\n').map((l) => l.slice(0, 5))).toEqual(['* v2 ', '  v1 ']);
    const rollback = await cli('activate', 'padded', '1');
    expect(rollback.stdout).toMatch(/^padded: version 1 is active \(was 2\)/);
    expect((await node.api('/v1/job-types')).body.jobTypes.find((t: { name: string }) => t.name === 'padded')).toMatchObject({ source: 'deployed', version: 1 });
  }, 120_000);

  it('a module that does not build exits 1 with the file and line, and deploys nothing', async () => {
    const before = await node.store.jobTypes.revision();
    const broken = await cli('deploy', join(dir, 'broken.ts'));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/ringpool deploy: broken\.ts:1:\d+: /);
    const missing = await cli('deploy', join(dir, 'nope.ts'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.ts/);
    expect(await node.store.jobTypes.revision()).toBe(before);
  }, 120_000);
});

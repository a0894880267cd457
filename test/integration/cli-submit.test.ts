// `ringpool submit --option k=v --options JSON` against a running node: the job carries the options; a bad one submits nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { killAllSpawned, spawnRingpool } from '../helpers/processes.js';

describe('ringpool submit with job options', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode({}, 'cli-submit');
  }, 120_000);

  afterAll(async () => {
    killAllSpawned();
    await node?.close();
  });

  const jobCount = async () => ((await node.api('/v1/jobs?limit=500')).body.jobs as unknown[]).length;

  it('the submitted job carries --options with each --option over it, the rest at their defaults, and runs', async () => {
    const cli = spawnRingpool([
      'submit', 'primes', '--input', '{"from":0,"to":30}',
      '--options', '{"retries":1,"resultTtlSec":120}',
      '--option', 'retries=5',
      '--option', 'taskTimeoutMs=2500',
      '--url', node.url,
    ]);
    const { code } = await cli.exited;
    expect(code, cli.stderr()).toBe(0);
    const id = cli.stdout().trim();
    const job = await node.waitForJob(id);
    expect(job).toMatchObject({ status: 'completed', options: { ...JOB_OPTION_DEFAULTS, retries: 5, taskTimeoutMs: 2_500, resultTtlSec: 120 } });
    expect((await node.api(`/v1/jobs/${id}/result`)).body.result).toBe(10);
  }, 120_000);

  it('a bad option fails with a message naming it and exit code 2, and nothing is submitted', async () => {
    const before = await jobCount();
    for (const [flags, message] of [
      [['--option', 'retries=-1'], /ringpool submit: job option retries: Too small: expected number to be >=0, got -1/],
      [['--option', 'retriez=1'], /ringpool submit: unknown job option "retriez"; the job options are retries, taskTimeoutMs/],
      [['--options', '{"batchSize":"big"}'], /ringpool submit: job option batchSize: .*expected number, received string, got "big"/],
    ] as const) {
      const cli = spawnRingpool(['submit', 'primes', '--input', '{"from":0,"to":30}', ...flags, '--url', node.url]);
      const { code } = await cli.exited;
      expect(cli.stderr()).toMatch(message);
      expect(code, cli.stderr()).toBe(2);
      expect(cli.stdout()).toBe('');
    }
    expect(await jobCount()).toBe(before);
  }, 120_000);
});

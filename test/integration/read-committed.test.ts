// A job's end is handed out only once the replicas have it: the result route and submit-and-wait
// read the end on the master, where the writer's script ran before its own WAIT answered.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../../src/store/job-store.js';
import { createKeys } from '../../src/store/keys.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';
import { killAllSpawned, spawnRingpool } from '../helpers/processes.js';
import { startRedisTopology, type RedisTopology } from '../helpers/redis-topology.js';

/*
 * The writer of a job's end (a worker's last results, the scheduler's reduce) runs its script on
 * the master, then WAITs; it treats the end as done only once a replica has it. Readers saw it
 * at once: with the replication link down, GET /v1/jobs/:id/result answered 200 with a result
 * that the master alone had. Had that master died then, the promoted replica would have the job
 * still running, and the client a result no acknowledged write ever produced.
 */
describe('an ended job whose end the replicas have not confirmed', () => {
  let topology: RedisTopology;
  let node: TestNode;
  let writer: JobStore;

  beforeAll(async () => {
    topology = await startRedisTopology({ replicas: 1, linkProxies: true });
    const [masterPort] = topology.ports as [number];
    // The API alone: the test writes the jobs' ends itself, as a worker or the reduce would.
    node = await startTestNode({ redisUrl: `redis://127.0.0.1:${masterPort}`, minReplicas: 1 }, 'committed', { api: true, scheduler: false, worker: false });
    writer = new JobStore(topology.client(masterPort), createKeys(node.prefix), { minReplicas: 1, waitTimeoutMs: 300 });
  }, 180_000);

  // A test that failed with the link cut must not leave it cut for the next.
  afterEach(() => topology.healLink(topology.ports[1] as number));

  afterAll(async () => {
    killAllSpawned();
    await node?.close();
    await topology?.stop();
  });

  /** Ends the job on the master with the link cut: the writer's WAIT falls short, the master has it. */
  async function endUnreplicated(id: string, result: number): Promise<void> {
    await writer.startJob(id, 1);
    topology.cutLink(topology.ports[1] as number);
    await expect(writer.completeJobWith(id, 1, JSON.stringify(result), 600)).rejects.toMatchObject({ code: 'NOT_REPLICATED' });
    expect((await writer.getJob(id))?.status).toBe('completed'); // on the master
  }

  /**
   * The id of the job with input `to` that a request in flight is creating, once its creation's
   * own WAIT has been answered: the replica has the job, and its acknowledgement is on the way
   * (a 503 after the link is cut must be the end's, not the creation's).
   */
  async function submittedElsewhere(to: number): Promise<string> {
    let id: string | undefined;
    await expect
      .poll(async () => {
        const { body } = await node.api('/v1/jobs?limit=10');
        return (id = (body.jobs as Array<{ id: string; input: { to: number } }>).find((j) => j.input.to === to)?.id);
      }, { timeout: 60_000, message: `a job with input.to ${to} to be created` })
      .toBeDefined();
    const created = id as string;
    const replica = topology.client(topology.ports[1] as number);
    await expect.poll(() => replica.exists(createKeys(node.prefix).job(created)), { timeout: 60_000 }).toBe(1);
    // The master has the replica's acknowledgement of all it had written by now, the creation
    // included: the creation's WAIT has been answered (or will be at once, when it is sent).
    const master = topology.client(topology.ports[0] as number);
    const offset = async (pattern: RegExp) => Number(pattern.exec(await master.info('replication'))?.[1] ?? -1);
    const written = await offset(/^master_repl_offset:(\d+)/m);
    await expect.poll(() => offset(/^slave0:.*\boffset=(\d+)/m), { timeout: 60_000 }).toBeGreaterThanOrEqual(written);
    return created;
  }

  it('the result route answers 503 NOT_REPLICATED, then the result once the replica has it', async () => {
    const submitted = await node.api('/v1/jobs', { body: { job: 'primes', input: { from: 0, to: 10 } } });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    await endUnreplicated(id, 4);

    const early = await node.api(`/v1/jobs/${id}/result`);
    expect(early.status).toBe(503);
    expect(early.body.error).toMatchObject({ code: 'NOT_REPLICATED' });
    expect(early.body.error.message).toMatch(new RegExp(`job ${id} has ended on the Redis master, but the replicas have not confirmed it yet.*ask again in a moment`));
    expect(early.headers.get('retry-after')).not.toBeNull();

    topology.healLink(topology.ports[1] as number);
    // Asked again, as Retry-After says, until the replica has confirmed the end.
    await expect.poll(async () => (await node.api(`/v1/jobs/${id}/result`)).status, { timeout: 60_000 }).toBe(200);
    const later = await node.api(`/v1/jobs/${id}/result`);
    expect(later).toMatchObject({ status: 200, body: { id, result: 4 } });
  }, 180_000);

  it('submit-and-wait does not answer with an end the replicas have not confirmed', async () => {
    const answer = node.api('/v1/jobs?wait=20000', { body: { job: 'primes', input: { from: 0, to: 20 } } });
    const id = await submittedElsewhere(20);
    await endUnreplicated(id, 8);
    const early = await answer;
    expect(early.status).toBe(503);
    expect(early.body.error.message).toMatch(new RegExp(`job ${id} has ended on the Redis master, but the replicas have not confirmed it yet`));

    topology.healLink(topology.ports[1] as number);
    await expect.poll(async () => (await node.api(`/v1/jobs/${id}/result`)).status, { timeout: 60_000 }).toBe(200);
    expect(await node.api(`/v1/jobs/${id}/result`)).toMatchObject({ status: 200, body: { id, result: 8 } });
  }, 180_000);

  it('ringpool submit --wait asks again after Retry-After and prints the result once the replica has it', async () => {
    const cli = spawnRingpool(['submit', 'primes', '--input', '{"from":0,"to":30}', '--wait', '--url', node.url]);
    const id = await submittedElsewhere(30);
    await endUnreplicated(id, 10);
    await expect.poll(() => cli.stderr().includes('answered 503'), { timeout: 60_000 }).toBe(true).catch(() => {}); // the match below says what it printed instead
    expect(cli.stderr()).toMatch(new RegExp(`ringpool answered 503 \\(job ${id} has ended on the Redis master, but the replicas have not confirmed it yet.*asking again in \\d+ s`));
    topology.healLink(topology.ports[1] as number);
    const { code } = await cli.exited;
    expect(code, cli.stderr()).toBe(0);
    expect(cli.stdout().trim()).toBe('10');
  }, 180_000);
});

// What the job routes share: a job found by id (404 otherwise), a job and its result once ended, its end confirmed on the replicas, `?wait=MS`.
import { z } from 'zod';
import { RingpoolError } from '../../errors.js';
import type { ResultType } from '../../sdk/index.js';
import { TERMINAL_STATUSES, type JobRecord } from '../../store/job-record.js';
import { isJobId, type JobStore } from '../../store/job-store.js';
import type { JobResultBody, ResultStore } from '../../store/result-store.js';
import { mayAccessTenant, type Principal } from '../auth.js';
import { describeIssues } from '../errors.js';

/** What the routes that answer with a job's end read it through. */
export type EndedJobReader = Pick<JobStore, 'getJob' | 'together' | 'confirmReplicated'> & { readonly results: Pick<ResultStore, 'getResult'> };

/** `?wait=MS` on submission and on the result route: wait up to MS (at most 30 s) for the job to end. */
export const WaitQuery = z.coerce.number().int().min(0).max(30_000).default(0).describe('wait up to this many ms (at most 30000) for the job to end; 0: answer at once');

export function waitQuery(raw: string | undefined): number {
  const wait = WaitQuery.safeParse(raw);
  if (!wait.success) throw new RingpoolError('BAD_INPUT', describeIssues(wait.error.issues, 'query.wait'));
  return wait.data;
}

export function noSuchJob(id: string): RingpoolError {
  return new RingpoolError('NOT_FOUND', `no job with id ${id} (it may have expired)`);
}

/**
 * The job with the id of the route, or NOT_FOUND saying whether the id is malformed or unknown.
 * A job of another tenant than the principal's (without `admin`) is NOT_FOUND exactly as an
 * unknown id: the same error, so the answer does not tell that it exists (docs/tenants.md).
 */
export async function findJob(store: Pick<JobStore, 'getJob'>, id: string, principal: Principal): Promise<JobRecord> {
  if (!isJobId(id)) throw new RingpoolError('NOT_FOUND', `${JSON.stringify(id.slice(0, 80))} is not a job id (ids look like "m3x9k2p1-0a1b2c3d4e")`);
  const job = await store.getJob(id);
  if (job === undefined || !mayAccessTenant(principal, job.tenant)) throw noSuchJob(id);
  return job;
}

/**
 * Once a wait for the job's end is over (ended, or ran out): the record, the result and the end's
 * confirmation by the replicas (confirmEnd), in one round trip. The confirmation's write leaves
 * after the reads, in the same socket write, so it covers every write the master made before them:
 * the end they read too. Its failure counts only for a job that has ended (NOT_REPLICATED then);
 * for one still running, the `WAIT` was spent for nothing (a wait that ran out: rare).
 */
export async function readEnded(
  store: EndedJobReader,
  id: string,
  type: ResultType,
): Promise<{ job: JobRecord | undefined; result: JobResultBody | undefined }> {
  const [job, result, confirmed] = await store.together(() =>
    Promise.all([store.getJob(id), store.results.getResult(id, type), confirmEnd(store, id).then(() => undefined, (err: unknown) => ({ err }))]),
  );
  if (confirmed !== undefined && job !== undefined && TERMINAL_STATUSES.has(job.status)) throw confirmed.err;
  return { job, result };
}

/**
 * Before an answer says how a job ended (its result, its error): the end is on the replicas.
 * A job's end is read on the master, where its writer's script ran; its writer answers only
 * once `WAIT` confirms it, and so does this: an end the master then lost (killed before its
 * replica had it, the replica promoted) would have been read and handed out, and the job run
 * again with maybe another outcome. Costs one round trip to the replicas (`WAIT`).
 */
export async function confirmEnd(store: Pick<JobStore, 'confirmReplicated'>, id: string): Promise<void> {
  try {
    await store.confirmReplicated();
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'NOT_REPLICATED') throw err;
    const { details } = err as RingpoolError;
    throw new RingpoolError('NOT_REPLICATED', `job ${id} has ended on the Redis master, but the replicas have not confirmed it yet (${(err as Error).message}); ask again in a moment`, { details });
  }
}

// Deletes the result objects of jobs that have expired from Redis (their `resultTtlSec` passed): the blob store's side of a job's TTL (docs/blobs.md).
import type { Logger } from 'pino';
import { startLeaderSweep } from '../scheduler/leader-sweep.js';
import type { BlobRuntime, BlobStore } from './blob-store.js';
import { openBlobStore } from './open.js';
import { jobBlobDir } from './result-refs.js';

/** How often the leading scheduler sweeps, ms. */
export const SWEEP_EVERY_MS = 10 * 60_000;

/**
 * One sweep: every job folder under `<namespace>/results/` whose job Redis no longer has is
 * deleted. A job's record lives as long as its result (the TTL of both), so a folder whose job is
 * gone holds nothing anyone can reach. Returns the objects deleted.
 */
export async function sweepExpiredJobBlobs(store: BlobStore, namespace: string, jobExists: (id: string) => Promise<boolean>): Promise<number> {
  let deleted = 0;
  for (const jobId of await store.listDirs(`${namespace}/results`)) {
    if (await jobExists(jobId)) continue;
    deleted += await store.deleteDir(jobBlobDir(namespace, jobId));
  }
  return deleted;
}

export interface BlobSweepDeps {
  readonly runtime: BlobRuntime;
  /** Only the leader sweeps (one sweeper per cluster). */
  readonly isLeader: () => boolean;
  readonly jobExists: (id: string) => Promise<boolean>;
  readonly logger: Logger;
}

/** Sweeps every `everyMs` while this scheduler leads; returns the function that stops it. */
export function startBlobSweep(deps: BlobSweepDeps, everyMs = SWEEP_EVERY_MS): () => void {
  const sweep = async () => sweepExpiredJobBlobs(await openBlobStore(deps.runtime), deps.runtime.namespace, deps.jobExists);
  return startLeaderSweep({ what: 'the blobs of expired jobs', everyMs, isLeader: deps.isLeader, sweep, logger: deps.logger });
}

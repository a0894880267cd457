// Keeps the job listings bounded: ids of jobs Redis has forgotten (their `resultTtlSec` passed) leave
// the listing and search indexes, and every job is in its tenant's listing (docs/operations.md "Retention").
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

/** Ids read per round trip. */
const CHUNK = 500;

export interface IndexSweepOutcome {
  /** Ids taken out of the listings because their job is gone. */
  readonly removed: number;
  /** Ids added to their tenant's listing (jobs created before tenant listings existed). */
  readonly indexed: number;
}

/**
 * One pass over the global listing (`jobs`, with `jobs:by-id`) and every tenant's listing. The
 * listings only grow at their newest end (creation time) and only this pass removes from them, so
 * walking each oldest-first by position, less what was removed, sees every id once.
 */
export async function sweepJobIndexes(redis: Redis, keys: Keys): Promise<IndexSweepOutcome> {
  let removed = 0;
  let indexed = 0;
  for (let offset = 0; ; ) {
    const page = await redis.zrange(keys.jobs, offset, offset + CHUNK - 1, 'WITHSCORES');
    if (page.length === 0) break;
    const ids = page.filter((_, i) => i % 2 === 0);
    const tenants = await pipelined(redis, ids.map((id) => ['hget', keys.job(id), 'tenant']));
    const gone = ids.filter((_, i) => tenants[i] === null);
    const write = redis.pipeline();
    if (gone.length > 0) write.zrem(keys.jobs, ...gone).zrem(keys.jobsById, ...gone);
    ids.forEach((id, i) => {
      const tenant = tenants[i];
      if (typeof tenant === 'string') write.zadd(keys.jobsOfTenant(tenant), 'NX', page[2 * i + 1] as string, id);
    });
    const replies = (await write.exec()) ?? [];
    indexed += replies.slice(gone.length > 0 ? 2 : 0).reduce((n, [, added]) => n + Number(added ?? 0), 0);
    removed += gone.length;
    offset += ids.length - gone.length;
  }
  for (const listing of await tenantListings(redis, keys)) {
    for (let offset = 0; ; ) {
      const ids = await redis.zrange(listing, offset, offset + CHUNK - 1);
      if (ids.length === 0) break;
      const exists = await pipelined(redis, ids.map((id) => ['exists', keys.job(id)]));
      const gone = ids.filter((_, i) => exists[i] === 0);
      if (gone.length > 0) await redis.zrem(listing, ...gone);
      removed += gone.length;
      offset += ids.length - gone.length;
    }
  }
  return { removed, indexed };
}

async function tenantListings(redis: Redis, keys: Keys): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.jobsOfTenant('*'), 'COUNT', 1000);
    for (const key of batch) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...found];
}

async function pipelined(redis: Redis, commands: Array<[string, ...string[]]>): Promise<unknown[]> {
  const replies = (await redis.pipeline(commands).exec()) ?? [];
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

// Job types deployed at runtime: each version's bundled code, content-addressed, and which version is active.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RingpoolError } from '../errors.js';
import type { Keys } from './keys.js';
import type { ReplicatedWrites } from './replicated-writes.js';
import { defineScripts, sendScript } from './scripts.js';

/** What is kept of one deployed version besides its code. */
export interface JobTypeVersion {
  readonly version: number;
  /** SHA-256 of the bundled code, hex: where the code is kept and what a node caches it by. */
  readonly digest: string;
  readonly bytes: number;
  /** By the Redis clock, ms since the epoch. */
  readonly deployedAt: number;
  /** The principal that deployed it (`tok-…`, or `client-…` without tokens). */
  readonly deployedBy: string;
  readonly description: string;
  readonly resultType: string;
}

export interface DeployOutcome {
  readonly version: number;
  /** False when the active version had the same code: nothing was stored. */
  readonly created: boolean;
}

/** The SHA-256 of a module's bundled code, as versions are stored by. */
export function codeDigest(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/** Published on the events channel after every change of the deployed job types. */
export const JOB_TYPES_MESSAGE = 'job-types';

/**
 * Deployed job types (docs/architecture.md §5). Every change is one script, confirmed by the
 * replicas before it returns (a version a job was submitted to survives a failover), and bumps the
 * revision nodes poll to load what changed.
 */
export class JobTypeStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #acks: ReplicatedWrites;

  constructor(redis: Redis, keys: Keys, acks: ReplicatedWrites) {
    this.#redis = redis;
    this.#keys = keys;
    this.#acks = acks;
    defineScripts(redis);
  }

  /** Stores `code` as the next version of `name` and makes it active (unless it is the active code already). */
  async deploy(name: string, code: string, meta: Pick<JobTypeVersion, 'deployedBy' | 'description' | 'resultType'>): Promise<DeployOutcome> {
    const k = this.#keys;
    const digest = codeDigest(code);
    const record = { digest, bytes: Buffer.byteLength(code, 'utf8'), ...meta };
    const epoch = this.#acks.epoch;
    const keys = [k.jobTypeVersions(name), k.jobTypeSeq(name), k.jobTypeCode(name, digest), k.jobTypesActive, k.jobTypesRevision];
    const [version, created] = await this.#acks.write(() => sendScript<[number, number]>(this.#redis, 'deploy-job-type', keys, [name, digest, code, JSON.stringify(record)]), epoch);
    await this.#announce();
    return { version, created: created === 1 };
  }

  /** Makes `version` the active one; returns the version active before (0: none). */
  async activate(name: string, version: number): Promise<number> {
    const k = this.#keys;
    const epoch = this.#acks.epoch;
    const before = await this.#acks.write(() => sendScript<number>(this.#redis, 'activate-job-type', [k.jobTypeVersions(name), k.jobTypesActive, k.jobTypesRevision], [name, version]), epoch);
    await this.#announce();
    return before;
  }

  /** Deletes a version that is neither active nor run by a job in flight (else CONFLICT). */
  async deleteVersion(name: string, version: number): Promise<void> {
    const k = this.#keys;
    const found = (await this.versions(name)).find((v) => v.version === version);
    if (found === undefined) throw new RingpoolError('NOT_FOUND', `job type ${name} has no version ${version}; see GET /v1/job-types/${name}/versions`);
    const keys = [k.jobTypeVersions(name), k.jobTypesActive, k.jobTypesRevision, k.active, k.jobTypeCode(name, found.digest)];
    const epoch = this.#acks.epoch;
    await this.#acks.write(() => sendScript<number>(this.#redis, 'delete-job-type-version', keys, [name, version, k.job('')]), epoch);
    await this.#announce();
  }

  /**
   * Tells every node the revision moved (JOB_TYPES_MESSAGE on the events channel), so they read it
   * at once instead of polling it (registry/live-registry.ts). Best effort: a node that misses it
   * (its subscriber reconnecting, this process gone before it publishes) reads it at its slow poll.
   */
  async #announce(): Promise<void> {
    await this.#redis.publish(this.#keys.events, JOB_TYPES_MESSAGE).catch(() => 0);
  }

  /** Every stored version of `name`, oldest first. */
  async versions(name: string): Promise<JobTypeVersion[]> {
    const hash = await this.#redis.hgetall(this.#keys.jobTypeVersions(name));
    return Object.values(hash)
      .map((raw) => JSON.parse(raw) as JobTypeVersion)
      .sort((a, b) => a.version - b.version);
  }

  /** Deployed job type name → its active version. */
  async active(): Promise<Map<string, number>> {
    const hash = await this.#redis.hgetall(this.#keys.jobTypesActive);
    return new Map(Object.entries(hash).map(([name, v]) => [name, Number(v)]));
  }

  /** The bundled code of a version, by its digest; undefined once deleted. */
  async code(name: string, digest: string): Promise<string | undefined> {
    return (await this.#redis.get(this.#keys.jobTypeCode(name, digest))) ?? undefined;
  }

  /** A number that changes whenever anything deployed changes (0 before the first deploy). */
  async revision(): Promise<number> {
    return Number((await this.#redis.get(this.#keys.jobTypesRevision)) ?? 0);
  }
}

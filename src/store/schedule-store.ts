// Schedules in Redis (POST /v1/schedules): each one's job, cron and policy, whether it is paused, its last dealt-with tick and the jobs its ticks started.
import { createHash, randomBytes } from 'node:crypto';
import { Cron } from 'croner';
import type { Redis } from 'ioredis';
import { RingpoolError } from '../errors.js';
import type { JobCallback, ResultType } from '../sdk/index.js';
import type { ResolvedJobOptions } from '../sdk/job-options.js';
import type { Keys } from './keys.js';
import type { ReplicatedWrites } from './replicated-writes.js';
import { defineScripts, sendScript } from './scripts.js';

/** What happens to ticks that passed while no scheduler led (docs/architecture.md §5): none run, or one job for them all. */
export type MissedPolicy = 'skip' | 'run-once';

/** What a schedule starts at each tick: a job as a submission would create it, but for its id. */
export interface ScheduledJob {
  readonly name: string;
  readonly input: unknown;
  readonly options: ResolvedJobOptions;
  readonly resultType: ResultType;
  /** The tenant that created the schedule, whose jobs its ticks start (docs/tenants.md); absent: `default`. */
  readonly tenant?: string;
  /** The tenant's default webhooks when the schedule was created (the job has no callback of its own). */
  readonly extraCallbacks?: readonly JobCallback[];
}

export interface NewSchedule {
  readonly job: ScheduledJob;
  /** A cron expression of five or six fields (seconds first when six), as croner reads it. */
  readonly cron: string;
  /** IANA time zone the expression is read in. */
  readonly timezone: string;
  readonly missed: MissedPolicy;
  readonly paused: boolean;
}

export interface ScheduleRecord extends NewSchedule {
  readonly id: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  /** The last tick fired or skipped (ms); ticks after it are due. Starts at the creation. */
  readonly lastTick: number;
}

/** A job a tick started. */
export interface ScheduleRun {
  readonly tick: number;
  readonly jobId: string;
}

/** Jobs listed per schedule. */
const RUNS_KEPT = 20;

const SCHEDULE_ID = /^sch-[0-9a-f]{12}$/;

export function newScheduleId(): string {
  return `sch-${randomBytes(6).toString('hex')}`;
}

export function isScheduleId(id: string): boolean {
  return SCHEDULE_ID.test(id);
}

/**
 * The job id of a schedule's tick: the tick time in base36 and 10 hex of a hash of both, in the
 * format of every job id (job-store.ts isJobId). The same tick always gets the same id, so a
 * second creation of it is refused (CONFLICT): a leader change or a restart never fires it twice.
 */
export function tickJobId(scheduleId: string, tick: number): string {
  const hash = createHash('sha256').update(`${scheduleId}:${tick}`).digest('hex');
  return `${tick.toString(36)}-${hash.slice(0, 10)}`;
}

/** The cron expression read in its time zone; a bad expression or zone is BAD_INPUT naming the field (`cron`, `timezone`). */
export function parseCron(expr: string, timezone: string): Cron {
  try {
    Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new RingpoolError('BAD_INPUT', `timezone: ${JSON.stringify(timezone)} is not an IANA time zone (e.g. "UTC", "Europe/Berlin")`);
  }
  try {
    const cron = new Cron(expr, { timezone, paused: true });
    cron.nextRun(); // a zone croner cannot convert to fails here
    return cron;
  } catch (err) {
    throw new RingpoolError('BAD_INPUT', `cron: ${JSON.stringify(expr)} is not a cron expression (${(err as Error).message}); e.g. "0 2 * * *" daily at 02:00, "*/10 * * * * *" every 10 s`);
  }
}

/** The last tick at or before `at` (ms), if any. */
export function lastTickAtOrBefore(cron: Cron, at: number): number | undefined {
  return cron.previousRuns(1, new Date(at + 1))[0]?.getTime();
}

/** The next `n` ticks after `after` (ms). */
export function nextTicks(cron: Cron, after: number, n: number): number[] {
  return cron.nextRuns(n, new Date(after)).map((d) => d.getTime());
}

/**
 * Schedules (docs/architecture.md §5). Every write is one script confirmed by the replicas before
 * it returns; the scheduler's record of a tick is fenced by its term (§2).
 */
export class ScheduleStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #acks: ReplicatedWrites;

  constructor(redis: Redis, keys: Keys, acks: ReplicatedWrites) {
    this.#redis = redis;
    this.#keys = keys;
    this.#acks = acks;
    defineScripts(redis);
  }

  /** Stores a new schedule; its ticks after `now` are due. */
  async create(schedule: NewSchedule, now: number = Date.now()): Promise<ScheduleRecord> {
    const k = this.#keys;
    const id = newScheduleId();
    const def = JSON.stringify({ job: schedule.job, cron: schedule.cron, timezone: schedule.timezone, missed: schedule.missed });
    const epoch = this.#acks.epoch;
    const fields = ['def', def, 'paused', schedule.paused ? '1' : '0', 'lastTick', now, 'createdAt', now];
    const stored = await this.#acks.write(() => sendScript<number>(this.#redis, 'schedule-put', [k.schedules, k.schedule(id)], [id, ...fields]), epoch, (r) => r === 1);
    if (stored !== 1) throw new RingpoolError('CONFLICT', `schedule id ${id} is already taken; submit again`);
    return { ...schedule, id, createdAt: now, lastTick: now };
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    if (!isScheduleId(id)) return undefined;
    return parseSchedule(id, await this.#redis.hgetall(this.#keys.schedule(id)));
  }

  /** Every schedule, oldest first. */
  async list(): Promise<ScheduleRecord[]> {
    const ids = await this.#redis.smembers(this.#keys.schedules);
    if (ids.length === 0) return [];
    const pipe = this.#redis.pipeline();
    for (const id of ids) pipe.hgetall(this.#keys.schedule(id));
    const replies = (await pipe.exec()) ?? [];
    return ids
      .flatMap((id, i) => parseSchedule(id, (replies[i]?.[1] ?? {}) as Record<string, string>) ?? [])
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** The jobs the schedule's last ticks started, newest first. */
  async runs(id: string): Promise<ScheduleRun[]> {
    return (await this.#redis.lrange(this.#keys.scheduleJobs(id), 0, -1)).map((raw) => JSON.parse(raw) as ScheduleRun);
  }

  /** Pauses (true) or resumes (false): a resumed schedule fires the ticks after `now` only. NOT_FOUND when there is no such schedule. */
  async setPaused(id: string, paused: boolean, now: number = Date.now()): Promise<void> {
    const epoch = this.#acks.epoch;
    const found = await this.#acks.write(() => sendScript<number>(this.#redis, 'schedule-pause', [this.#keys.schedule(id)], [paused ? '1' : '0', now]), epoch, (r) => r === 1);
    if (found !== 1) throw noSuchSchedule(id);
  }

  /** Deletes the schedule (the jobs it started stay). NOT_FOUND when there is no such schedule. */
  async remove(id: string): Promise<void> {
    const k = this.#keys;
    const epoch = this.#acks.epoch;
    const found = await this.#acks.write(() => sendScript<number>(this.#redis, 'schedule-delete', [k.schedules, k.schedule(id), k.scheduleJobs(id)], [id]), epoch, (r) => r === 1);
    if (found !== 1) throw noSuchSchedule(id);
  }

  /**
   * Scheduler (fenced by `term`): the ticks up to `tick` are dealt with; `jobId`: the job the tick
   * started, listed. STALE_TERM from a deposed leader. Returns false when the schedule is gone.
   */
  async recordTick(id: string, term: number, tick: number, jobId?: string): Promise<boolean> {
    const k = this.#keys;
    const entry = jobId === undefined ? '' : JSON.stringify({ tick, jobId } satisfies ScheduleRun);
    const epoch = this.#acks.epoch;
    const keys = [k.fence, k.schedule(id), k.scheduleJobs(id)];
    return (await this.#acks.write(() => sendScript<number>(this.#redis, 'schedule-record-tick', keys, [term, tick, entry, RUNS_KEPT]), epoch)) === 1;
  }
}

export function noSuchSchedule(id: string): RingpoolError {
  return new RingpoolError('NOT_FOUND', `no schedule with id ${JSON.stringify(id.slice(0, 80))}; see GET /v1/schedules`);
}

function parseSchedule(id: string, hash: Record<string, string>): ScheduleRecord | undefined {
  if (hash.def === undefined) return undefined;
  const def = JSON.parse(hash.def) as Pick<NewSchedule, 'job' | 'cron' | 'timezone' | 'missed'>;
  return { id, ...def, paused: hash.paused === '1', createdAt: Number(hash.createdAt ?? 0), lastTick: Number(hash.lastTick ?? 0) };
}

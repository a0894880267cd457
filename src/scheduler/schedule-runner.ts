// The leader-only loop that fires schedules: each due tick becomes one job whose id is derived from the schedule and the tick, so no tick fires twice.
import type { Cron } from 'croner';
import type { Logger } from 'pino';
import { serializeError } from '../errors.js';
import type { JobResolver } from '../registry/live-registry.js';
import type { JobStore } from '../store/job-store.js';
import { lastTickAtOrBefore, nextTicks, parseCron, tickJobId, type MissedPolicy, type ScheduleRecord } from '../store/schedule-store.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';
import { IdleBackoff } from './idle-backoff.js';
import type { Leadership } from './leadership.js';

/** How often the leader looks for due ticks while they fire, ms. */
const LOOP_MS = 200;
/** How often at most while none fire (the delay doubles up to this): a tick fires at most this late. */
const IDLE_LOOP_MS = 1000;

/**
 * A tick that came due at most this long before this process began to lead still fires: the
 * failover took it (about a second, docs/architecture.md §6). An older one unfired was missed
 * while no scheduler led, and the schedule's policy applies. Every tick due while this process
 * leads fires, however late its pass (a leader that cannot reach Redis steps down, §2).
 */
export const ON_TIME_MS = 2_000;

/** Most ticks fired per schedule in one pass; the rest go in the next. */
const MAX_PER_PASS = 100;

export interface TickPlan {
  /** Ticks to fire, oldest first: one job each. */
  readonly fire: readonly number[];
  /** Every tick up to this one is dealt with once those fired (the schedule's new last tick). */
  readonly upTo: number;
}

/**
 * What is due of a schedule whose ticks up to `lastTick` are dealt with, at `now`, for a leader
 * that counts ticks at or before `missedUpTo` as missed (it began to lead ON_TIME_MS after them):
 * later ticks fire each; missed ones none ('skip') or one job for them all, as their latest tick
 * ('run-once'). Pure: leaders that plan the same schedule alike fire the same ticks.
 */
export function planTicks(cron: Cron, lastTick: number, now: number, missed: MissedPolicy, missedUpTo: number): TickPlan | undefined {
  const onTimeFrom = Math.max(lastTick, missedUpTo);
  const onTime = nextTicks(cron, onTimeFrom, MAX_PER_PASS).filter((t) => t <= now);
  const late = onTimeFrom > lastTick ? lastTickAtOrBefore(cron, onTimeFrom) : undefined;
  const missedTick = late !== undefined && late > lastTick ? late : undefined;
  const fire = missed === 'run-once' && missedTick !== undefined ? [missedTick, ...onTime] : onTime;
  const upTo = onTime.at(-1) ?? missedTick;
  return upTo === undefined ? undefined : { fire, upTo };
}

export interface ScheduleRunnerDeps {
  readonly store: Pick<JobStore, 'schedules' | 'createJob'>;
  /** The active version of a deployed job type, for each tick's job. */
  readonly registry: Pick<JobResolver, 'get'>;
  readonly leadership: Pick<Leadership, 'term'>;
  readonly logger: Logger;
}

/** Fires the schedules' due ticks while this process leads (started and closed with the Scheduler). */
export class ScheduleRunner {
  readonly #deps: ScheduleRunnerDeps;
  readonly #crons = new Map<string, Cron>();
  #running = false;
  #loop: Promise<void> | undefined;
  /** The term this process leads in and when its first pass in it ran. */
  #leading: { readonly term: number; readonly since: number } | undefined;

  constructor(deps: ScheduleRunnerDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  async #run(): Promise<void> {
    const backoff = new IdleBackoff({ minMs: LOOP_MS, maxMs: IDLE_LOOP_MS });
    let fired = 0;
    while (this.#running) {
      await sleep(backoff.next(fired > 0));
      fired = 0;
      const term = this.#deps.leadership.term;
      if (term === undefined || !this.#running) continue;
      try {
        fired = await this.fireDue(term);
      } catch (err) {
        this.#deps.logger.warn({ err: serializeError(err) }, 'could not read the schedules; will retry');
      }
    }
  }

  /**
   * One pass: every schedule's due ticks fired (or skipped as missed) as the leader of `term`; its
   * first pass in a term marks when it began to lead. Returns how many schedules had ticks due.
   */
  async fireDue(term: number, now: number = Date.now()): Promise<number> {
    if (this.#leading?.term !== term) this.#leading = { term, since: now };
    const missedUpTo = this.#leading.since - ON_TIME_MS;
    let due = 0;
    for (const schedule of await this.#deps.store.schedules.list()) {
      if (schedule.paused) continue;
      try {
        if (await this.#fireSchedule(schedule, term, now, missedUpTo)) due++;
      } catch (err) {
        // Redis trouble or a deposed leader (STALE_TERM): the ticks stay due, for this or the next leader.
        this.#deps.logger.warn({ scheduleId: schedule.id, err: serializeError(err) }, 'could not fire a schedule; will retry');
        due++;
      }
    }
    return due;
  }

  /** Fires what is due of one schedule; false when nothing was. */
  async #fireSchedule(schedule: ScheduleRecord, term: number, now: number, missedUpTo: number): Promise<boolean> {
    const plan = planTicks(this.#cron(schedule), schedule.lastTick, now, schedule.missed, missedUpTo);
    if (plan === undefined) return false;
    const { store } = this.#deps;
    for (const tick of plan.fire) {
      const jobId = await this.#fireTick(schedule, tick, now);
      if (!(await store.schedules.recordTick(schedule.id, term, tick, jobId))) return true; // deleted meanwhile
    }
    if (plan.fire.at(-1) !== plan.upTo) await store.schedules.recordTick(schedule.id, term, plan.upTo);
    return true;
  }

  /** Creates the tick's job; one that exists already (fired by an earlier leader) is taken as fired. */
  async #fireTick(schedule: ScheduleRecord, tick: number, now: number): Promise<string> {
    const id = tickJobId(schedule.id, tick);
    const version = this.#deps.registry.get(schedule.job.name)?.version ?? null;
    try {
      await this.#deps.store.createJob({ id, ...schedule.job, ...(version === null ? {} : { version }), schedule: { id: schedule.id, tick } }, { now });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'CONFLICT') throw err;
    }
    return id;
  }

  #cron(schedule: ScheduleRecord): Cron {
    const key = `${schedule.timezone} ${schedule.cron}`;
    let cron = this.#crons.get(key);
    if (cron === undefined) {
      cron = parseCron(schedule.cron, schedule.timezone);
      this.#crons.set(key, cron);
    }
    return cron;
  }
}

/** A wait of a second or more (nothing due) on the process's idle grid, with its other idle loops; a shorter one exact. */
function sleep(ms: number): Promise<void> {
  return ms >= 2 * IDLE_GRID_MS ? idleGrid.sleep(ms) : new Promise((r) => setTimeout(r, ms));
}

// Webhook deliveries in Redis (docs/webhooks.md): queued by the scripts that end a job, read and recorded by the leader's delivery loop.
import type { Redis } from 'ioredis';
import type { JobCallback, WebhookEvent } from '../sdk/index.js';
import type { Keys } from './keys.js';
import { defineScripts, runScript } from './scripts.js';

export type WebhookState = 'pending' | 'delivered' | 'gave_up' | 'refused';

/** One try at a delivery. */
export interface WebhookAttempt {
  /** When it started, ms since the epoch. */
  readonly at: number;
  /** The receiver's HTTP status; null when none came. */
  readonly status: number | null;
  /** Why it failed without a status, or why it was refused. */
  readonly error: string | null;
  readonly latencyMs: number;
}

/** A delivery as stored: what to send, where, and how it went so far. */
export interface WebhookDelivery {
  readonly id: string;
  readonly jobId: string;
  readonly event: WebhookEvent;
  readonly callback: JobCallback;
  /** The job's type, error (JSON text or '') and end, copied when it ended. */
  readonly name: string;
  readonly error: string;
  readonly finishedAt: number;
  /** When the job ended and the delivery was queued (the retry time counts from it), ms. */
  readonly createdAt: number;
  readonly state: WebhookState;
  readonly attempts: WebhookAttempt[];
  /** The body sent on the first attempt, sent alike on every retry; undefined before it. */
  readonly body: string | undefined;
  readonly nextAt: number | null;
}

/** What comes after an attempt: another one at `nextAt`, or the delivery's end. */
export type WebhookOutcome = { readonly state: 'pending'; readonly nextAt: number } | { readonly state: Exclude<WebhookState, 'pending'> };

/** An ended delivery's log is kept this long (the job's own record may be kept longer or shorter). */
const ENDED_KEEP_SEC = 7 * 86_400;

/** The deliveries, on the connection of the JobStore they hang off (`store.webhooks`). */
export class WebhookStore {
  readonly #redis: Redis;
  readonly #keys: Keys;

  constructor(redis: Redis, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
    defineScripts(redis);
  }

  /** Ids of pending deliveries due at `now`, soonest first, at most `limit`. */
  async due(now: number, limit: number): Promise<string[]> {
    return await this.#redis.zrangebyscore(this.#keys.webhooksDue, '-inf', now, 'LIMIT', 0, limit);
  }

  async get(id: string): Promise<WebhookDelivery | undefined> {
    return parseDelivery(await this.#redis.hgetall(this.#keys.webhook(id)));
  }

  /** The delivery of the job's last end, if its callback asked for one. */
  async forJob(jobId: string): Promise<WebhookDelivery | undefined> {
    const id = await this.#redis.hget(this.#keys.job(jobId), 'webhook');
    return id === null ? undefined : await this.get(id);
  }

  /**
   * Records an attempt and what follows it, fenced by the leader's `term` (STALE_TERM for a
   * deposed one); `body` is stored with the first. Returns the state after the call ('missing').
   */
  async recordAttempt(term: number, id: string, attempt: WebhookAttempt, outcome: WebhookOutcome, body = ''): Promise<WebhookState | 'missing'> {
    const k = this.#keys;
    const nextAt = outcome.state === 'pending' ? outcome.nextAt : '';
    return await runScript(this.#redis, 'webhook-attempt', [k.fence, k.webhook(id), k.webhooksDue], [term, id, JSON.stringify(attempt), outcome.state, nextAt, body, ENDED_KEEP_SEC]);
  }
}

function parseDelivery(hash: Record<string, string>): WebhookDelivery | undefined {
  if (hash.id === undefined || hash.state === undefined) return undefined;
  return {
    id: hash.id,
    jobId: hash.jobId ?? '',
    event: hash.event as WebhookEvent,
    callback: JSON.parse(hash.callback ?? '{}') as JobCallback,
    name: hash.name ?? '',
    error: hash.error ?? '',
    finishedAt: Number(hash.finishedAt ?? 0),
    createdAt: Number(hash.createdAt ?? 0),
    state: hash.state as WebhookState,
    attempts: JSON.parse(hash.attempts ?? '[]') as WebhookAttempt[],
    body: hash.body,
    nextAt: hash.nextAt === undefined ? null : Number(hash.nextAt),
  };
}

// The leader's webhook delivery loop (docs/webhooks.md): sends due deliveries through the SSRF guard, signs them, retries with backoff and jitter, records every attempt.
import type { Logger } from 'pino';
import { RingpoolError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { WebhookAttempt, WebhookDelivery, WebhookOutcome, WebhookStore } from '../store/webhook-store.js';
import { WebhookGuard, postWebhook, webhookSignature } from '../transport/webhook-target.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';
import { IdleBackoff } from './idle-backoff.js';
import type { Leadership } from './leadership.js';

export interface WebhookDeliveryOptions {
  /** A delivery not delivered this long after the job ended is given up, ms. @default 3600000 */
  readonly retryForMs?: number;
  /** Signs deliveries whose callback has no secret of its own. */
  readonly secret?: string | undefined;
  /** CIDR ranges the guard lets through although private (`--webhook-allow`). */
  readonly allow?: readonly string[];
  /** Wait before the first retry; each further one waits twice as long (with jitter), ms. @default 1000 */
  readonly firstRetryMs?: number;
  /** Longest wait between two attempts, ms. @default 300000 */
  readonly maxRetryMs?: number;
  /** An attempt without an answer this long fails, ms. @default 10000 */
  readonly timeoutMs?: number;
  /** Deliveries sent at once. @default 8 */
  readonly concurrency?: number;
  /** How often the leader looks for due deliveries, ms. @default 200 */
  readonly pollMs?: number;
}

export interface WebhookDeliveryDeps {
  readonly store: WebhookStore;
  readonly leadership: Leadership;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
}

/** The longest delay between two reads of the due deliveries while none are, ms. */
const IDLE_POLL_MS = 1000;
const DEFAULTS = { retryForMs: 3_600_000, firstRetryMs: 1_000, maxRetryMs: 300_000, timeoutMs: 10_000, concurrency: 8, pollMs: 200 };

/** The wait before attempt `made + 1`: doubling from `firstMs`, capped at `maxMs`, then scaled by a jitter in [0.5, 1). */
export function retryDelay(made: number, firstMs: number, maxMs: number, random: number = Math.random()): number {
  const base = Math.min(maxMs, firstMs * 2 ** Math.max(0, made - 1));
  return Math.round(base * (0.5 + random / 2));
}

/** The JSON a receiver gets: the delivery id and event, and the job without its input and result. */
export function webhookBody(d: WebhookDelivery): string {
  const links = { self: `/v1/jobs/${d.jobId}`, result: `/v1/jobs/${d.jobId}/result`, events: `/v1/jobs/${d.jobId}/events` };
  const job = { id: d.jobId, job: d.name, status: d.event, error: d.error === '' ? null : (JSON.parse(d.error) as unknown), finishedAt: d.finishedAt, links };
  return JSON.stringify({ deliveryId: d.id, event: d.event, job });
}

export class WebhookDeliveries {
  readonly #deps: WebhookDeliveryDeps;
  readonly #options: typeof DEFAULTS & { readonly secret?: string | undefined };
  readonly #guard: WebhookGuard;
  readonly #inFlight = new Map<string, Promise<void>>();
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(deps: WebhookDeliveryDeps, options: WebhookDeliveryOptions = {}) {
    this.#deps = deps;
    const { allow, secret, ...numbers } = options;
    this.#options = { ...DEFAULTS, ...stripUndefined(numbers), secret };
    for (const [name, value] of Object.entries(this.#options)) {
      if (name !== 'secret' && (!Number.isInteger(value) || (value as number) < 1)) throw new RingpoolError('CONFIG', `webhook option ${name} must be an integer >= 1, got ${String(value)}`);
    }
    this.#guard = new WebhookGuard(allow);
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  async #run(): Promise<void> {
    const { leadership, store, logger } = this.#deps;
    // Nothing due: read again after twice the delay, up to 1 s (an idle node's Redis traffic, docs/performance.md).
    const backoff = new IdleBackoff({ minMs: this.#options.pollMs, maxMs: Math.max(this.#options.pollMs, IDLE_POLL_MS) });
    let busy = false;
    while (this.#running) {
      await sleep(backoff.next(busy));
      busy = this.#inFlight.size > 0;
      const term = leadership.term;
      if (term === undefined || this.#inFlight.size >= this.#options.concurrency) continue;
      try {
        const due = await store.due(Date.now(), this.#options.concurrency + this.#inFlight.size);
        busy ||= due.length > 0;
        for (const id of due) {
          if (this.#inFlight.has(id) || this.#inFlight.size >= this.#options.concurrency) continue;
          const sending = this.#deliver(id, term)
            .catch((err: unknown) => logger.warn({ err, delivery: id }, 'webhook attempt not recorded; it is tried again'))
            .finally(() => this.#inFlight.delete(id));
          this.#inFlight.set(id, sending);
        }
      } catch (err) {
        logger.warn({ err }, 'cannot read the due webhook deliveries');
      }
    }
  }

  /** One attempt at a pending delivery, recorded under the leader's `term`. */
  async #deliver(id: string, term: number): Promise<void> {
    const delivery = await this.#deps.store.get(id);
    if (delivery === undefined || delivery.state !== 'pending') return;
    const body = delivery.body ?? webhookBody(delivery);
    const at = Date.now();
    const target = await this.#guard.resolve(delivery.callback.url);
    if ('refused' in target) {
      await this.#record(term, delivery, { at, status: null, error: target.refused, latencyMs: Date.now() - at }, { state: 'refused' }, body);
      return;
    }
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await postWebhook({ url: delivery.callback.url, to: target, headers: this.#headers(delivery, body), body, timeoutMs: this.#options.timeoutMs });
    } catch (err) {
      error = (err as Error).message;
    }
    const attempt: WebhookAttempt = { at, status, error: error ?? (status !== null && status >= 300 ? `the receiver answered ${status}` : null), latencyMs: Date.now() - at };
    await this.#record(term, delivery, attempt, this.#after(delivery, status), body);
  }

  #headers(delivery: WebhookDelivery, body: string): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'ringpool-webhook',
      'ringpool-delivery': delivery.id,
      'ringpool-event': delivery.event,
    };
    const secret = delivery.callback.secret ?? this.#options.secret;
    if (secret !== undefined) headers['ringpool-signature'] = webhookSignature(secret, Math.floor(Date.now() / 1000), body);
    return headers;
  }

  /** Delivered on a 2xx; else another attempt after the backoff, unless that falls past the retry time. */
  #after(delivery: WebhookDelivery, status: number | null): WebhookOutcome {
    if (status !== null && status >= 200 && status < 300) return { state: 'delivered' };
    const { firstRetryMs, maxRetryMs, retryForMs } = this.#options;
    const nextAt = Date.now() + retryDelay(delivery.attempts.length + 1, firstRetryMs, maxRetryMs);
    return nextAt > delivery.createdAt + retryForMs ? { state: 'gave_up' } : { state: 'pending', nextAt };
  }

  async #record(term: number, delivery: WebhookDelivery, attempt: WebhookAttempt, outcome: WebhookOutcome, body: string): Promise<void> {
    const state = await this.#deps.store.recordAttempt(term, delivery.id, attempt, outcome, delivery.body === undefined ? body : '');
    if (state !== outcome.state) return; // ended meanwhile (a deposed leader's attempt is refused: STALE_TERM)
    this.#deps.metrics?.webhookDeliveries.inc({ outcome: outcome.state === 'pending' ? 'retried' : outcome.state });
    // The origin only: a URL's path or query may carry a receiver's token.
    const log = { delivery: delivery.id, to: new URL(delivery.callback.url).origin, ...attempt };
    if (outcome.state === 'gave_up' || outcome.state === 'refused') this.#deps.logger.warn(log, `webhook ${outcome.state === 'refused' ? 'refused' : 'given up'}`);
    else this.#deps.logger.debug(log, `webhook ${outcome.state}`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A wait of a second or more (nothing due) on the process's idle grid, with its other idle loops; a shorter one exact. */
function sleep(ms: number): Promise<void> {
  return ms >= 2 * IDLE_GRID_MS ? idleGrid.sleep(ms) : new Promise((r) => setTimeout(r, ms));
}

// The chaos client: submits primes jobs of varied sizes without pause, records each accepted job with its expected answer, and every refusal.
import { SeededRandom } from '../../src/raft/random.js';
import type { RequestRecord } from './availability.js';
import { countPrimesSerially } from './primes-reference.js';

export interface PrimesInput {
  readonly from: number;
  readonly to: number;
  readonly chunk: number;
}

export interface AcceptedJob {
  readonly id: string;
  readonly input: PrimesInput;
  readonly expected: number;
  readonly acceptedAt: number;
  /** Set once the client has seen it end (the final check reads every job again anyway). */
  endedAt?: number;
}

export interface LoadClientOptions {
  readonly apiUrl: string;
  readonly seed: number;
  /** Pause between two submissions. @default 300 */
  readonly submitEveryMs?: number;
  /** Unfinished jobs beyond which only one-task jobs are submitted (the submissions go on: they measure availability). @default 40 */
  readonly maxUnfinished?: number;
  /** Per request. @default 3000 */
  readonly requestTimeoutMs?: number;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** The shape of a job: small ones (2-6 tasks) and medium ones (6-16 tasks) across the workers. */
export function drawJob(random: SeededRandom, tiny: boolean): PrimesInput {
  const from = random.nextInt(50_000_000);
  if (tiny) return { from, to: from + 1_000, chunk: 1_000 };
  const medium = random.chance(0.4);
  const tasks = medium ? 6 + random.nextInt(11) : 2 + random.nextInt(5);
  const chunk = (medium ? 150_000 : 50_000) + random.nextInt(100_000);
  return { from, to: from + tasks * chunk - random.nextInt(Math.floor(chunk / 2)), chunk };
}

export class LoadClient {
  readonly accepted: AcceptedJob[] = [];
  readonly requests: RequestRecord[] = [];
  /** POSTs whose outcome is unknown (a timeout or a reset after sending): the job may or may not exist. */
  ambiguousSubmits = 0;
  readonly #options: Required<LoadClientOptions>;
  readonly #random: SeededRandom;
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(options: LoadClientOptions) {
    this.#options = { submitEveryMs: 300, maxUnfinished: 40, requestTimeoutMs: 3_000, ...options };
    this.#random = new SeededRandom(options.seed);
  }

  start(): void {
    this.#running = true;
    this.#loops = [this.#submitLoop(), this.#statusLoop()];
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  get unfinished(): number {
    return this.accepted.filter((j) => j.endedAt === undefined).length;
  }

  async #submitLoop(): Promise<void> {
    while (this.#running) {
      const input = drawJob(this.#random, this.unfinished >= this.#options.maxUnfinished);
      const expected = countPrimesSerially(input.from, input.to);
      const at = Date.now();
      const res = await this.#request('POST', '/v1/jobs', { job: 'primes', input });
      const ms = Date.now() - at;
      if (res.kind === 'answer' && res.status === 202) {
        const id = (res.body as { id?: unknown }).id;
        if (typeof id === 'string') this.accepted.push({ id, input, expected, acceptedAt: at });
        this.requests.push({ at, ms, op: 'submit', outcome: typeof id === 'string' ? 'ok' : 'error', status: 202 });
      } else {
        if (res.kind === 'failed' && res.sent) this.ambiguousSubmits++;
        this.requests.push({ at, ms, op: 'submit', ...classify(res) });
      }
      await sleep(this.#options.submitEveryMs);
    }
  }

  /**
   * Asks the status of the unfinished jobs, a few at a time and in turn (a job that never ends does
   * not hide the others): the other half of the availability samples.
   */
  async #statusLoop(): Promise<void> {
    let turn = 0;
    while (this.#running) {
      const unfinished = this.accepted.filter((j) => j.endedAt === undefined);
      turn = unfinished.length === 0 ? 0 : turn % unfinished.length;
      const batch = unfinished.slice(turn, turn + 4);
      turn += batch.length;
      for (const job of batch) {
        if (!this.#running) break;
        const at = Date.now();
        const res = await this.#request('GET', `/v1/jobs/${job.id}`);
        const ms = Date.now() - at;
        if (res.kind === 'answer' && res.status === 200) {
          if (TERMINAL.has(String((res.body as { status?: unknown }).status))) job.endedAt = Date.now();
          this.requests.push({ at, ms, op: 'status', outcome: 'ok', status: 200 });
        } else this.requests.push({ at, ms, op: 'status', ...classify(res) });
      }
      await sleep(batch.length === 0 ? 300 : 150);
    }
  }

  async #request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
    let sent = false;
    try {
      const res = await fetch(`${this.#options.apiUrl}${path}`, {
        method,
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs),
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      sent = true;
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
      return { kind: 'answer', status: res.status, retryAfter: res.headers.get('retry-after'), body: parsed };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      const name = (err as Error).name;
      // A connection refused never reached the server; anything else may have.
      return { kind: 'failed', sent: sent || cause !== 'ECONNREFUSED', detail: cause ?? name };
    }
  }
}

type Answer = { kind: 'answer'; status: number; retryAfter: string | null; body: unknown } | { kind: 'failed'; sent: boolean; detail: string };

function classify(res: Answer): Pick<RequestRecord, 'outcome' | 'status' | 'detail'> {
  if (res.kind === 'failed') return { outcome: 'unavailable', detail: res.detail };
  const code = (res.body as { error?: { code?: string } } | undefined)?.error?.code;
  const detail = code ?? (typeof res.body === 'string' ? res.body.slice(0, 80) : undefined);
  if ((res.status === 503 || res.status === 429) && res.retryAfter !== null) return { outcome: 'refused', status: res.status, ...(detail ? { detail } : {}) };
  if (res.status >= 500) return { outcome: res.status === 500 ? 'error' : 'unavailable', status: res.status, ...(detail ? { detail } : {}) };
  return { outcome: 'error', status: res.status, ...(detail ? { detail } : {}) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

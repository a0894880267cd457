// Tells waiters when a job ends, from the events channel the store's scripts publish on.
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import type { AcknowledgedEnd, LocalEnds } from './local-ends.js';

export class JobEvents {
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #waiters = new Map<string, Set<(end?: AcknowledgedEnd) => void>>();
  readonly #localEnds: LocalEnds | undefined;
  #started: Promise<void> | undefined;

  /**
   * `subscriber` must be a connection of its own: it enters subscribe mode. `localEnds`: the ends
   * this process's worker writes, which its waiters get from the writer once acknowledged.
   */
  constructor(subscriber: Redis, keys: Keys, localEnds?: LocalEnds) {
    this.#subscriber = subscriber;
    this.#channel = keys.events;
    this.#localEnds = localEnds;
  }

  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#localEnds?.listen((id, end) => this.#wake(id, end));
      this.#subscriber.on('message', (channel: string, message: string) => {
        if (channel !== this.#channel) return;
        if (message.startsWith('end:')) {
          const id = message.slice(4);
          // Written here and not confirmed yet: the writer tells its waiters (local-ends.ts).
          if (this.#localEnds?.holdPublished(id) !== true) this.#wake(id, undefined);
        } else if (message.startsWith('cancel:')) this.#wake(message.slice(7), undefined);
      });
      await this.#subscriber.subscribe(this.#channel);
    })();
    return this.#started;
  }

  #wake(id: string, end: AcknowledgedEnd | undefined): void {
    for (const wake of this.#waiters.get(id) ?? []) wake(end);
    this.#waiters.delete(id);
  }

  /**
   * Resolves when the job ends or after `ms`: with the end when this process's worker made it and
   * the replicas confirmed it (nothing to read back then), else undefined. Register before reading
   * the job's status, then read it: an end published in between is not missed.
   */
  waitForEnd(id: string, ms: number): { ended: Promise<AcknowledgedEnd | undefined>; cancel: () => void } {
    let wake: (end?: AcknowledgedEnd) => void = () => {};
    const ended = new Promise<AcknowledgedEnd | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      wake = (end) => {
        clearTimeout(timer);
        resolve(end);
      };
    });
    let set = this.#waiters.get(id);
    if (set === undefined) this.#waiters.set(id, (set = new Set()));
    set.add(wake);
    return {
      ended,
      cancel: () => {
        wake();
        const waiting = this.#waiters.get(id);
        waiting?.delete(wake);
        if (waiting?.size === 0) this.#waiters.delete(id); // a job that never ends leaves nothing behind
      },
    };
  }

  async close(): Promise<void> {
    for (const set of this.#waiters.values()) for (const wake of set) wake();
    this.#waiters.clear();
    await this.#subscriber.unsubscribe().catch(() => {});
  }
}

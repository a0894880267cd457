// Tells waiters when a job ends, from the events channel the store's scripts publish on.
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

export class JobEvents {
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #waiters = new Map<string, Set<() => void>>();
  #started: Promise<void> | undefined;

  /** `subscriber` must be a connection of its own: it enters subscribe mode. */
  constructor(subscriber: Redis, keys: Keys) {
    this.#subscriber = subscriber;
    this.#channel = keys.events;
  }

  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#subscriber.on('message', (channel: string, message: string) => {
        if (channel !== this.#channel) return;
        const id = message.startsWith('end:') ? message.slice(4) : message.startsWith('cancel:') ? message.slice(7) : undefined;
        if (id === undefined) return;
        for (const wake of this.#waiters.get(id) ?? []) wake();
        this.#waiters.delete(id);
      });
      await this.#subscriber.subscribe(this.#channel);
    })();
    return this.#started;
  }

  /**
   * Resolves when the job ends or after `ms`. Register before reading the job's status, then
   * read it: an end published in between is not missed.
   */
  waitForEnd(id: string, ms: number): { ended: Promise<void>; cancel: () => void } {
    let wake: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
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

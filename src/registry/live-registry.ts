// The job types a node serves: its folders' modules and the deployed ones, the active version of each followed live, any version a job was submitted to loaded on demand.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RingpoolError, serializeError } from '../errors.js';
import type { AnyJob } from '../sdk/index.js';
import { JOB_TYPES_MESSAGE, type JobTypeStore } from '../store/job-type-store.js';
import { materialize, moduleFolder } from './deployed-modules.js';
import { importModule } from './import-module.js';
import type { JobRegistry, LoadedJob } from './job-registry.js';
import { IDLE_GRID_MS, idleGrid } from '../timer-grid.js';

/** A job type as a node serves it: from a folder (version null) or a deployed version. */
export type ServedJob = LoadedJob & {
  readonly source: 'folder' | 'deployed';
  /** The deployed version; null for a module from a folder. */
  readonly version: number | null;
  /** SHA-256 of the deployed bundle; null for a module from a folder. */
  readonly digest: string | null;
};

/** What the API, the scheduler and the workers look job types up in. */
export interface JobResolver {
  /** The version a new job runs: a folder's module, else the active deployed version. */
  get(name: string): ServedJob | undefined;
  /** Every job type served, by name. */
  list(): readonly ServedJob[];
  /** The module a job was submitted to (`version` from its record; null: a folder's), loaded if need be. NOT_FOUND / UNKNOWN_JOB_TYPE when gone. */
  resolve(name: string, version: number | null): Promise<ServedJob>;
  /** The same, only if loaded already (for placement keys, which must not wait). */
  peek(name: string, version: number | null): ServedJob | undefined;
  /** Reads the deployed job types again now (after this node changed them). */
  refresh(): Promise<void>;
}

export interface LiveRegistryOptions {
  /** How often the deployed job types' revision is read while no subscriber tells of changes, ms. @default 500 */
  readonly pollMs?: number;
  /**
   * How often it is read once a subscriber tells of changes (`follow`): only to catch a message
   * missed while that connection was down, ms. @default 5000
   */
  readonly followedPollMs?: number;
  /** Where bundles are written for threads to load. @default moduleFolder() */
  readonly dir?: string;
  readonly logger?: Logger;
}

/** Deployed versions a process keeps loaded besides the active ones (threads keep fewer: thread-modules.ts). */
export const LOADED_VERSIONS = 32;

/** A folder registry alone, as a resolver (tests, tools, a node without a store). */
export function folderResolver(folders: JobRegistry): JobResolver {
  const served = (job: LoadedJob): ServedJob => ({ ...job, source: 'folder', version: null, digest: null });
  const list = Object.freeze(folders.list().map(served));
  const byName = new Map(list.map((j) => [j.name, j]));
  const get = (name: string) => byName.get(name);
  return {
    get,
    list: () => list,
    peek: (name, version) => (version === null ? get(name) : undefined),
    refresh: async () => {},
    resolve: async (name, version) => {
      const found = version === null ? get(name) : undefined;
      if (found === undefined) throw new RingpoolError('UNKNOWN_JOB_TYPE', `no job module named "${name}"${version === null ? '' : ` (version ${version})`} on this node`);
      return found;
    },
  };
}

/**
 * Folders first (a deployed type may not take a folder's name: the API refuses it), then the
 * deployed types, whose active versions are read again whenever the store's revision changes.
 */
export class LiveRegistry implements JobResolver {
  readonly #folders: JobResolver;
  readonly #store: Pick<JobTypeStore, 'active' | 'versions' | 'code' | 'revision'>;
  readonly #pollMs: number;
  readonly #followedPollMs: number;
  #followed = false;
  readonly #dir: string;
  readonly #logger: Logger | undefined;
  /**
   * `name@version` → the loaded version, in the order of last use: at most LOADED_VERSIONS are
   * kept besides the active ones; one let go is loaded again if a job of it still comes.
   */
  readonly #loaded = new Map<string, Promise<ServedJob>>();
  readonly #ready = new Map<string, ServedJob>();
  #active = new Map<string, ServedJob>();
  #list: readonly ServedJob[];
  #revision = -1;
  #cancelPoll: (() => void) | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(folders: JobRegistry, store: Pick<JobTypeStore, 'active' | 'versions' | 'code' | 'revision'>, options: LiveRegistryOptions = {}) {
    this.#folders = folderResolver(folders);
    this.#store = store;
    this.#pollMs = options.pollMs ?? 500;
    if (!Number.isInteger(this.#pollMs) || this.#pollMs < 10) throw new RingpoolError('CONFIG', `pollMs must be an integer >= 10, got ${this.#pollMs}`);
    this.#followedPollMs = options.followedPollMs ?? 5000;
    if (!Number.isInteger(this.#followedPollMs) || this.#followedPollMs < this.#pollMs) throw new RingpoolError('CONFIG', `followedPollMs must be an integer >= pollMs (${this.#pollMs}), got ${this.#followedPollMs}`);
    this.#dir = options.dir ?? moduleFolder();
    this.#logger = options.logger;
    this.#list = this.#folders.list();
  }

  /** Reads the deployed types once (waiting for it), then follows them every `pollMs` (`followedPollMs` once `follow`ed). */
  async start(): Promise<void> {
    await this.refresh().catch((err: unknown) => this.#logger?.warn({ err: serializeError(err) }, 'could not read the deployed job types; will retry'));
    const tick = () => {
      const ms = this.#followed ? this.#followedPollMs : this.#pollMs;
      const poll = () => void this.refresh().catch(() => {}).finally(tick);
      // A poll seconds apart (a followed one) rides the idle grid: no wake-up of its own (docs/performance.md, "Round two").
      if (ms >= 2 * IDLE_GRID_MS) this.#cancelPoll = idleGrid.after(ms, poll, { ref: false });
      else {
        const timer = setTimeout(poll, ms).unref();
        this.#cancelPoll = () => clearTimeout(timer);
      }
    };
    tick();
  }

  /**
   * Reads the revision whenever `subscriber` (subscribed to `channel` by its owner) hears that the
   * deployed types changed, and each time it connects again (a message may have been missed), so
   * the poll can be slow: an idle node reads the revision every 5 s instead of twice a second
   * (docs/performance.md, "Round two").
   */
  follow(subscriber: Redis, channel: string): void {
    this.#followed = true;
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel && message === JOB_TYPES_MESSAGE) this.#readAfterNews();
    });
    subscriber.on('ready', () => this.#readAfterNews());
  }

  /** A read that starts after the news: one in flight may have read the revision before it moved. */
  #readAfterNews(): void {
    void (this.#refreshing ?? Promise.resolve())
      .catch(() => {})
      .then(() => this.refresh())
      .catch(() => {});
  }

  stop(): void {
    this.#cancelPoll?.();
    this.#cancelPoll = undefined;
  }

  get(name: string): ServedJob | undefined {
    return this.#folders.get(name) ?? this.#active.get(name);
  }

  list(): readonly ServedJob[] {
    return this.#list;
  }

  peek(name: string, version: number | null): ServedJob | undefined {
    return version === null ? this.#folders.get(name) : this.#ready.get(`${name}@${version}`);
  }

  async resolve(name: string, version: number | null): Promise<ServedJob> {
    if (version === null) return await this.#folders.resolve(name, null);
    const key = `${name}@${version}`;
    let loading = this.#loaded.get(key);
    if (loading === undefined) {
      loading = this.#load(name, version);
      loading.catch(() => this.#loaded.delete(key)); // tried again next time
    } else {
      this.#loaded.delete(key); // set again below: the Map's order is the order of last use
    }
    this.#loaded.set(key, loading);
    this.#evict();
    return await loading;
  }

  /** Lets go of the least recently used versions past LOADED_VERSIONS, never an active one. */
  #evict(): void {
    let over = this.#loaded.size - LOADED_VERSIONS;
    for (const key of this.#loaded.keys()) {
      if (over <= 0) return;
      const [name, version] = key.split('@') as [string, string];
      if (this.#active.get(name)?.version === Number(version)) continue;
      this.#loaded.delete(key);
      this.#ready.delete(key);
      over--;
    }
  }

  /** How many deployed versions this process holds loaded (tests). */
  get loadedVersions(): number {
    return this.#loaded.size;
  }

  /** Reads the active versions again if the revision moved; loads each new one before it is served. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const revision = await this.#store.revision();
    if (revision === this.#revision) return;
    const active = await this.#store.active();
    const next = new Map<string, ServedJob>();
    for (const [name, version] of active) {
      if (this.#folders.get(name) !== undefined) continue;
      try {
        next.set(name, await this.resolve(name, version));
      } catch (err) {
        this.#logger?.error({ err: serializeError(err), jobType: name, version }, 'could not load the active version of a deployed job type');
        const before = this.#active.get(name);
        if (before !== undefined) next.set(name, before);
      }
    }
    this.#active = next;
    this.#list = Object.freeze([...this.#folders.list(), ...next.values()].sort((a, b) => a.name.localeCompare(b.name)));
    this.#revision = revision;
  }

  async #load(name: string, version: number): Promise<ServedJob> {
    const meta = (await this.#store.versions(name)).find((v) => v.version === version);
    if (meta === undefined) throw new RingpoolError('UNKNOWN_JOB_TYPE', `job type ${name} has no version ${version} (deleted, or never deployed)`);
    const path = await materialize(this.#store, this.#dir, name, meta);
    const module = (await importModule(path)).default as AnyJob;
    const served: ServedJob = Object.freeze({ name, module, path, source: 'deployed', version, digest: meta.digest });
    this.#ready.set(`${name}@${version}`, served);
    return served;
  }
}


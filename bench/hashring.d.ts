// Just enough of the untyped npm `hashring` (ketama ring, md5) for the ring benchmark's baseline.
declare module 'hashring' {
  /** Server address → weight, as hashring's constructor accepts it. */
  type Servers = string | string[] | Record<string, number | { weight?: number; vnodes?: number }>;

  export default class HashRing {
    constructor(servers?: Servers, algorithm?: string, options?: Record<string, unknown>);
    /** The server that owns `key` (memoised in an LRU of 5,000 keys by default). */
    get(key: string): string | undefined;
    /** Up to `size` servers for `key`, clockwise. */
    range(key: string, size?: number, unique?: boolean): string[];
    add(servers: Servers): this;
    remove(server: string): this;
  }
}

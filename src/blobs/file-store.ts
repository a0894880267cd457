// The blob store over a local folder (`file:///dir`), for one host: same contract as S3, objects are files.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { RingpoolError } from '../errors.js';
import type { BlobInfo, BlobRef, BlobStore, ByteRange } from './blob-store.js';
import { blobNotFound, parseFileRef } from './refs.js';
import { collect } from './streams.js';

/** Objects are the files under `dir`; a reference outside it is refused, so an input cannot name any file of the host. */
export class FileBlobStore implements BlobStore {
  readonly root: string;
  readonly #dir: string;

  constructor(url: string) {
    this.#dir = resolve(parseFileRef(url));
    this.root = `file://${this.#dir}`;
  }

  async list(prefix: BlobRef): Promise<BlobInfo[]> {
    const path = this.#path(prefix);
    const out: BlobInfo[] = [];
    const base = path.endsWith(sep) || path === this.#dir ? path : dirname(path);
    for (const file of await walk(base)) {
      if (!file.startsWith(path)) continue;
      out.push(await this.#info(file));
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async head(ref: BlobRef): Promise<BlobInfo> {
    return this.#info(this.#path(ref));
  }

  async get(ref: BlobRef, options: { readonly range?: ByteRange } = {}): Promise<Readable> {
    const info = await this.head(ref);
    const range = options.range;
    if (range === undefined) return createReadStream(this.#path(ref));
    if (range.start >= info.size && info.size > 0) throw new RingpoolError('BAD_INPUT', `${info.ref}: the range asked for is past the end of the object`, { details: { ref: info.ref } });
    return createReadStream(this.#path(ref), { start: range.start, end: Math.min(range.end ?? Infinity, info.size - 1) });
  }

  async put(dir: string, body: Buffer | Readable, suffix = ''): Promise<BlobInfo> {
    const bytes = Buffer.isBuffer(body) ? body : await collect(body);
    const path = join(this.#dir, dir, `${createHash('sha256').update(bytes).digest('hex')}${suffix}`);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
    await writeFile(partial, bytes);
    await rename(partial, path); // a reader never sees half a file
    return this.#info(path);
  }

  async listDirs(dir: string): Promise<string[]> {
    try {
      return (await readdir(join(this.#dir, dir), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  }

  async deleteDir(dir: string): Promise<number> {
    const path = join(this.#dir, dir);
    const files = await walk(path);
    await rm(path, { recursive: true, force: true });
    return files.length;
  }

  #path(ref: BlobRef): string {
    const path = resolve(parseFileRef(ref)) + (parseFileRef(ref).endsWith('/') ? sep : '');
    if (path !== this.#dir && !path.startsWith(this.#dir + sep)) {
      throw new RingpoolError('BAD_INPUT', `${parseFileRef(ref)} is outside the blob store's folder ${this.#dir}: name an object under ${this.root}/`);
    }
    return path;
  }

  async #info(path: string): Promise<BlobInfo> {
    const ref = `file://${path}`;
    try {
      const s = await stat(path);
      if (!s.isFile()) throw blobNotFound(ref, 'not a file');
      return { ref, key: relative(this.#dir, path).split(sep).join('/'), size: s.size };
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') throw blobNotFound(ref, 'no such file');
      throw err;
    }
  }
}

/** Every file under `dir` (none when it does not exist). */
async function walk(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true });
    return entries.filter((e) => e.isFile() && !e.name.endsWith('.partial')).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

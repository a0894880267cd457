// Opens the blob store a process or thread uses: one per settings, lazily, so a thread that never reads a blob never loads the S3 SDK.
import { RingpoolError } from '../errors.js';
import type { BlobInfo, BlobReader, BlobStore, BlobStoreSettings } from './blob-store.js';
import { FileBlobStore } from './file-store.js';
import { S3BlobStore } from './s3-store.js';

const opened = new Map<string, Promise<BlobStore>>();

/** The store of `settings`, opened once per process (or worker thread) and shared after. */
export function openBlobStore(settings: BlobStoreSettings): Promise<BlobStore> {
  const key = JSON.stringify([settings.url, settings.endpoint, settings.region, settings.forcePathStyle]);
  let store = opened.get(key);
  if (store === undefined) {
    store = settings.url.startsWith('file://') ? Promise.resolve(new FileBlobStore(settings.url)) : S3BlobStore.open(settings);
    opened.set(key, store);
  }
  return store;
}

/**
 * `ctx.blobs` of a job module: the store of `settings`, opened on first use; without settings
 * (no `--blob-store`), a reader whose every call says how to configure one.
 */
export function blobReader(settings: BlobStoreSettings | undefined): BlobReader {
  if (settings === undefined) return NO_BLOB_STORE;
  let reader = readers.get(settings);
  if (reader === undefined) {
    reader = {
      list: async (prefix) => (await openBlobStore(settings)).list(prefix),
      head: async (ref) => (await openBlobStore(settings)).head(ref),
      get: async (ref, options) => (await openBlobStore(settings)).get(ref, options),
    };
    readers.set(settings, reader);
  }
  return reader;
}

const readers = new WeakMap<BlobStoreSettings, BlobReader>();

function notConfigured(): never {
  throw new RingpoolError('CONFIG', 'this cluster has no blob store: start its nodes with --blob-store s3://bucket/prefix (or file:///dir) to read inputs by reference');
}

const NO_BLOB_STORE: BlobReader = Object.freeze({
  list: async (): Promise<BlobInfo[]> => notConfigured(),
  head: async (): Promise<BlobInfo> => notConfigured(),
  get: async () => notConfigured(),
});

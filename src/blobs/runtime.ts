// The blob store settings a node hands its threads, from its config; absent without `--blob-store`.
import type { Config } from '../config/config.js';
import type { BlobRuntime } from './blob-store.js';

/** What the worker threads, the reduce thread and the result route need of the config (docs/blobs.md). */
export function blobRuntime(config: Config): BlobRuntime | undefined {
  if (config.blobStore === undefined) return undefined;
  return { ...config.blobStore, resultThresholdBytes: config.blobResultThreshold, namespace: config.prefix };
}

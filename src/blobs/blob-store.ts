// What a blob store is: list, head, ranged get and content-addressed put over S3-compatible storage or a folder (docs/blobs.md).
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { BlobInfo, BlobReader, BlobRef } from '../sdk/blobs.js';

export type { BlobInfo, BlobReader, BlobRef, ByteRange } from '../sdk/blobs.js';

/** The node's side: writes results and deletes an expired job's objects. */
export interface BlobStore extends BlobReader {
  /** The store's root, `s3://bucket/prefix` or `file:///dir`. */
  readonly root: string;
  /** Writes `body` under `<root>/<dir>/<sha256><suffix>` (content-addressed: the same bytes, the same object) and returns it. */
  put(dir: string, body: Buffer | Readable, suffix?: string): Promise<BlobInfo>;
  /** The folder names right below `<root>/<dir>/`. */
  listDirs(dir: string): Promise<string[]>;
  /** Deletes every object under `<root>/<dir>/`; returns how many. */
  deleteDir(dir: string): Promise<number>;
}

/** The blob store settings of the config (`blobStore`), as they cross into worker and reduce threads. */
export const BlobStoreSettingsSchema = z.object({
  /** `s3://bucket/prefix` or `file:///absolute/dir`. */
  url: z.string().regex(/^(s3:\/\/[a-z0-9][a-z0-9.-]{1,62}(\/\S*)?|file:\/\/\/\S+)$/, 'must be s3://bucket/prefix or file:///absolute/dir'),
  /** An S3-compatible endpoint (MinIO, Ceph, s3rver); absent: AWS, or AWS_ENDPOINT_URL_S3. */
  endpoint: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL').optional(),
  /** absent: AWS_REGION, else us-east-1. */
  region: z.string().min(1).optional(),
  /** Path-style addressing (`endpoint/bucket/key`), as MinIO and s3rver need. @default true when `endpoint` is given */
  forcePathStyle: z.boolean().optional(),
});

export type BlobStoreSettings = z.output<typeof BlobStoreSettingsSchema>;

/** What a process needs to open its blob store and to decide which results go there. */
export interface BlobRuntime extends BlobStoreSettings {
  /** Task and reduce results with more JSON bytes than this are written to the store (0: all). */
  readonly resultThresholdBytes: number;
  /** The cluster's Redis key prefix: its result objects live under `<root>/<namespace>/results/<jobId>/`. */
  readonly namespace: string;
}

/** The text of a reference. */
export function refText(ref: BlobRef): string {
  return typeof ref === 'string' ? ref : ref.$ref;
}

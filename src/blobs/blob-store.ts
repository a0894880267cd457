// What a blob store is: list, head, ranged get and content-addressed put over S3-compatible storage or a folder (docs/blobs.md).
import type { Readable } from 'node:stream';
import { z } from 'zod';

/** A reference to one object: `s3://bucket/key` or `file:///dir/key`, bare or as a job input's `{ "$ref": … }`. */
export type BlobRef = string | { readonly $ref: string };

/** One object as `list` and `head` describe it. */
export interface BlobInfo {
  /** Its full reference, to pass to `get` or put in a task. */
  readonly ref: string;
  /** Its key within the bucket (S3) or folder (file). */
  readonly key: string;
  readonly size: number;
}

/** A byte range, both ends inclusive as in HTTP; `end` absent: to the end of the object. */
export interface ByteRange {
  readonly start: number;
  readonly end?: number;
}

/**
 * What a job module sees as `ctx.blobs` (in `split` and in `run`): reads only. A retry of a task
 * reads again, so a stream need not be replayable.
 */
export interface BlobReader {
  /** Every object whose reference starts with `prefix` (`s3://bucket/some/prefix`), in key order. */
  list(prefix: BlobRef): Promise<BlobInfo[]>;
  /** One object's size; BLOB_NOT_FOUND when it (or its bucket) does not exist. */
  head(ref: BlobRef): Promise<BlobInfo>;
  /** The object's bytes (or a range of them) as a stream. */
  get(ref: BlobRef, options?: { readonly range?: ByteRange }): Promise<Readable>;
}

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

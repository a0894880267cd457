// What a job module sees of the blob store (`ctx.blobs`): references, object descriptions and the read calls (docs/blobs.md).
import type { Readable } from 'node:stream';

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


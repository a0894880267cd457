// Parsing blob references (`s3://bucket/key`, `file:///path`) into where they point, with messages that say what to fix.
import { RingpoolError } from '../errors.js';
import { refText, type BlobRef } from './blob-store.js';

/** An `s3://` reference split into its bucket and key. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** Bucket and key of an `s3://bucket/key` reference (the key may be empty for a whole bucket). */
export function parseS3Ref(ref: BlobRef): S3Location {
  const text = refText(ref);
  const match = /^s3:\/\/([^/\s]+)\/?(.*)$/.exec(text);
  if (match === null) throw badRef(text, 's3://bucket/key');
  return { bucket: match[1] as string, key: match[2] as string };
}

/** The absolute path of a `file:///…` reference. */
export function parseFileRef(ref: BlobRef): string {
  const text = refText(ref);
  if (!text.startsWith('file:///')) throw badRef(text, 'file:///absolute/path');
  return decodeURIComponent(text.slice('file://'.length));
}

function badRef(text: string, shape: string): RingpoolError {
  return new RingpoolError('BAD_INPUT', `${JSON.stringify(text.slice(0, 200))} is not a blob reference this store reads: write it as ${shape}`);
}

/** The error of a reference that names nothing: the job fails with it, naming the reference. */
export function blobNotFound(ref: string, what: string): RingpoolError {
  const err = new RingpoolError('BLOB_NOT_FOUND', `${ref}: ${what}; check the reference and that the object was uploaded`, { details: { ref } });
  // Another attempt reads the same missing object: the task fails at once (NonRetryableError's flag).
  return Object.assign(err, { retryable: false });
}

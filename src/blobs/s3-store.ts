// The blob store over S3-compatible object storage (AWS, MinIO, Ceph, s3rver) with @aws-sdk/client-s3; the S3 calls it relies on are in docs/blobs.md.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { RingpoolError } from '../errors.js';
import type { BlobInfo, BlobRef, BlobStore, BlobStoreSettings, ByteRange } from './blob-store.js';
import { blobNotFound, parseS3Ref } from './refs.js';
import { collect, rangeHeader } from './streams.js';

type S3Module = typeof import('@aws-sdk/client-s3');

/**
 * One S3 client per process or thread. Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID
 * and AWS_SECRET_ACCESS_KEY, ~/.aws, instance roles) and are never held or logged here.
 */
export class S3BlobStore implements BlobStore {
  readonly root: string;
  readonly #sdk: S3Module;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  private constructor(sdk: S3Module, settings: BlobStoreSettings) {
    const { bucket, key } = parseS3Ref(settings.url);
    this.root = settings.url.replace(/\/+$/, '');
    this.#sdk = sdk;
    this.#bucket = bucket;
    this.#prefix = key.replace(/\/+$/, '');
    this.#client = new sdk.S3Client({
      ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
      region: settings.region ?? process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: settings.forcePathStyle ?? settings.endpoint !== undefined,
      // Checksums only where S3 requires them: stores other than AWS (MinIO, Ceph, s3rver) may not know the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Loads the SDK (only a process that uses S3 pays for it) and makes the client. */
  static async open(settings: BlobStoreSettings): Promise<S3BlobStore> {
    return new S3BlobStore(await import('@aws-sdk/client-s3'), settings);
  }

  async list(prefix: BlobRef): Promise<BlobInfo[]> {
    const { bucket, key } = parseS3Ref(prefix);
    const out: BlobInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.#call(`s3://${bucket}/${key}`, () =>
        this.#client.send(new this.#sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: key, ...(token === undefined ? {} : { ContinuationToken: token }) })),
      );
      for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push({ ref: `s3://${bucket}/${o.Key}`, key: o.Key, size: o.Size ?? 0 });
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  async head(ref: BlobRef): Promise<BlobInfo> {
    const { bucket, key } = parseS3Ref(ref);
    const at = `s3://${bucket}/${key}`;
    const answer = await this.#call(at, () => this.#client.send(new this.#sdk.HeadObjectCommand({ Bucket: bucket, Key: key })));
    return { ref: at, key, size: answer.ContentLength ?? 0 };
  }

  async get(ref: BlobRef, options: { readonly range?: ByteRange } = {}): Promise<Readable> {
    const { bucket, key } = parseS3Ref(ref);
    const range = options.range === undefined ? {} : { Range: rangeHeader(options.range) };
    const answer = await this.#call(`s3://${bucket}/${key}`, () => this.#client.send(new this.#sdk.GetObjectCommand({ Bucket: bucket, Key: key, ...range })));
    return answer.Body as Readable; // in Node the SDK's body is an http.IncomingMessage
  }

  async put(dir: string, body: Buffer | Readable, suffix = ''): Promise<BlobInfo> {
    const bytes = Buffer.isBuffer(body) ? body : await collect(body);
    const key = this.#key(`${dir}/${createHash('sha256').update(bytes).digest('hex')}${suffix}`);
    const at = `s3://${this.#bucket}/${key}`;
    await this.#call(at, () => this.#client.send(new this.#sdk.PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength })));
    return { ref: at, key, size: bytes.byteLength };
  }

  async listDirs(dir: string): Promise<string[]> {
    const prefix = `${this.#key(dir)}/`;
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#call(`s3://${this.#bucket}/${prefix}`, () =>
        this.#client.send(new this.#sdk.ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, Delimiter: '/', ...(token === undefined ? {} : { ContinuationToken: token }) })),
      );
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) out.push(p.Prefix.slice(prefix.length).replace(/\/$/, ''));
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  async deleteDir(dir: string): Promise<number> {
    const objects = await this.list(`s3://${this.#bucket}/${this.#key(dir)}/`);
    for (let i = 0; i < objects.length; i += 1000) {
      const Objects = objects.slice(i, i + 1000).map((o) => ({ Key: o.key }));
      await this.#call(this.root, () => this.#client.send(new this.#sdk.DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects, Quiet: true } })));
    }
    return objects.length;
  }

  #key(path: string): string {
    return this.#prefix === '' ? path : `${this.#prefix}/${path}`;
  }

  /** One S3 call; a missing bucket or key becomes BLOB_NOT_FOUND naming the reference, never a raw SDK error. */
  async #call<T>(ref: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw s3Error(ref, err);
    }
  }
}

/** A message that says what was wrong, from an SDK error (its name and HTTP status; never the request's credentials). */
function s3Error(ref: string, err: unknown): Error {
  const name = (err as { name?: string }).name ?? '';
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === 'NoSuchBucket') return blobNotFound(ref, 'its bucket does not exist');
  if (name === 'NoSuchKey') return blobNotFound(ref, 'no such object');
  if (name === 'NotFound' || status === 404) return blobNotFound(ref, 'no such object (or its bucket does not exist)');
  if (name === 'InvalidRange' || status === 416) return new RingpoolError('BAD_INPUT', `${ref}: the range asked for is past the end of the object`, { details: { ref } });
  if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return new RingpoolError('CONFIG', `${ref}: the object store refused access (${name}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's policy`, { details: { ref } });
  }
  return new RingpoolError('INTERNAL', `${ref}: object store error ${name || 'unknown'}${status === undefined ? '' : ` (HTTP ${status})`}: ${(err as Error).message ?? ''}`, { details: { ref } });
}

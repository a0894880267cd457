// Serves a job result stored by reference: `{"id":…,"result":<the object's JSON>}` streamed from the blob store, with Content-Length and single byte ranges (206).
import { Readable } from 'node:stream';
import { RingpoolError } from '../errors.js';
import type { BlobRuntime } from './blob-store.js';
import { openBlobStore } from './open.js';
import type { ResultRef } from './result-refs.js';

/** The answer to send: status, headers and body (an ErrorBody's JSON for a 416). */
export interface StreamedAnswer {
  readonly status: 200 | 206 | 416;
  readonly headers: Record<string, string>;
  readonly body: ReadableStream<Uint8Array> | string;
}

/**
 * The result route's answer for a result in the blob store: the same bytes as the inline answer
 * would be, read from the store as they are sent (a 100 MB result never sits in the API's memory).
 */
export async function streamResult(jobId: string, ref: ResultRef, runtime: BlobRuntime | undefined, rangeHeader: string | undefined): Promise<StreamedAnswer> {
  if (runtime === undefined) throw new RingpoolError('CONFIG', `the result of job ${jobId} is in a blob store (${ref.ref}) but this API node has none: start it with the same --blob-store as the workers`);
  const head = Buffer.from(`{"id":${JSON.stringify(jobId)},"result":`);
  const tail = Buffer.from('}');
  const size = head.length + ref.bytes + tail.length;
  const range = parseRange(rangeHeader, size);
  if (range === 'unsatisfiable') {
    const error = { code: 'BAD_INPUT', message: `the range ${JSON.stringify(rangeHeader)} starts past the end of the result of job ${jobId} (${size} bytes): ask for bytes 0-${size - 1} or fewer` };
    return { status: 416, headers: { 'content-range': `bytes */${size}`, 'content-type': 'application/json' }, body: JSON.stringify({ error }) };
  }
  const [start, end] = range ?? [0, size - 1];
  const store = await openBlobStore(runtime);
  const blobStart = Math.max(0, start - head.length);
  const blobEnd = Math.min(ref.bytes - 1, end - head.length);
  // Opened before the headers go out, so a swept object is a 404 and not a cut-off body.
  const middle = blobEnd >= blobStart ? await store.get(ref.ref, { range: { start: blobStart, end: blobEnd } }) : undefined;
  async function* parts(): AsyncGenerator<Buffer> {
    if (start < head.length) yield head.subarray(start, Math.min(head.length, end + 1));
    if (middle !== undefined) for await (const chunk of middle) yield chunk as Buffer;
    const tailAt = head.length + ref.bytes;
    if (end >= tailAt) yield tail.subarray(Math.max(0, start - tailAt), end - tailAt + 1);
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(end - start + 1), 'accept-ranges': 'bytes' };
  if (range !== undefined) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  return { status: range === undefined ? 200 : 206, headers, body: Readable.toWeb(Readable.from(parts())) as ReadableStream<Uint8Array> };
}

/**
 * One `bytes=a-b`, `bytes=a-` or `bytes=-n` range within `size` (inclusive ends); undefined for no
 * Range header or one this does not serve (several ranges, other units): the whole body is sent then.
 */
export function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(size - 1, Number(match[2]));
  if (start >= size || end < start) return 'unsatisfiable';
  return [start, end];
}

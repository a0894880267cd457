// Small stream helpers shared by the blob stores and the result route.
import type { Readable } from 'node:stream';
import type { ByteRange } from './blob-store.js';

/** Every byte of a stream, in memory (a result being stored, which is in memory already as JSON). */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The HTTP `Range` header of a byte range. */
export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.start}-${range.end ?? ''}`;
}

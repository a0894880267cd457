// The JSON body of a request: content type checked, size and nesting bounded, prototype keys refused.
import { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { RingpoolError } from '../errors.js';

/**
 * The body as JSON: content type checked, nesting bounded (deep values would overflow the stack of
 * whatever walks them later: validation, search indexing, JSON.stringify), and `__proto__` keys
 * refused, so no code that copies the input key by key can set an object's prototype from it.
 */
export async function readJson(c: Context, maxDepth: number, maxBytes: number): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new RingpoolError('UNSUPPORTED_MEDIA_TYPE', `send the body as JSON with "Content-Type: application/json" (got ${type === '' ? 'none' : JSON.stringify(type.slice(0, 100))})`);
  }
  const text = await readBodyText(c, maxBytes);
  const depth = jsonNestingDepth(text, maxDepth);
  if (depth > maxDepth) throw new RingpoolError('BAD_INPUT', `the body nests arrays and objects more than ${maxDepth} levels deep`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw new ForbiddenKey(key);
      return value;
    }) as unknown;
  } catch (err) {
    if (err instanceof ForbiddenKey) throw new RingpoolError('BAD_INPUT', `the body contains the key "${err.key}", which is refused (it could change an object's prototype); rename it`);
    throw new RingpoolError('MALFORMED_JSON', `the body is not valid JSON: ${(err as Error).message.slice(0, 300)}`);
  }
  return parsed;
}

/**
 * The request body as text, refused past `maxBytes` (413) whether or not it declares a length.
 * Behind @hono/node-server it is read from Node's request stream: building the web Request and
 * its stream (what `c.req.text()` and hono's bodyLimit do) cost more CPU than a small job's whole
 * submission. The server discards whatever is left of a refused body.
 */
async function readBodyText(c: Context, maxBytes: number): Promise<string> {
  const tooLarge = () => new RingpoolError('PAYLOAD_TOO_LARGE', `request body is larger than the limit of ${maxBytes} bytes`);
  if (Number(c.req.header('content-length')) > maxBytes) throw tooLarge();
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!(incoming instanceof IncomingMessage) || incoming.readableEnded) {
    // Not served by node-server (app.request in tests), or the body was read already.
    const bytes = await c.req.arrayBuffer();
    if (bytes.byteLength > maxBytes) throw tooLarge();
    return new TextDecoder().decode(bytes);
  }
  return await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      incoming.off('data', onData).off('end', onEnd).off('error', done);
      if (err === undefined) resolve(Buffer.concat(chunks, size).toString('utf8'));
      else reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) done(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    incoming.on('data', onData).on('end', onEnd).on('error', done);
  });
}

class ForbiddenKey extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

/** The deepest `[`/`{` nesting of a JSON text (strings skipped), counting no further than `stopAbove + 1`. */
export function jsonNestingDepth(text: string, stopAbove: number = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) depth--;
  }
  return max;
}

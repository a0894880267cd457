// A job's server-sent event stream (`GET /v1/jobs/:id/events`) as an async iterator of typed progress and end events.
import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import { RingpoolApiError, RingpoolNetworkError, type ApiErrorCode } from './errors.js';
import type { CallOptions, Http } from './http.js';
import type { JobEvent } from './types.js';

/**
 * Yields the job's `progress` events, then its `end` event, and stops. The SSE framing (lines
 * split across chunks, CR/LF/CRLF, multi-line data, comments) is parsed by eventsource-parser, a
 * small dependency-free parser that follows the WHATWG event-stream rules; the stream is read
 * from fetch's body, so the token goes in a header, not the URL. An `error` event (Redis lost
 * mid-stream) throws a `RingpoolApiError`; a stream that ends before `end` throws a
 * `RingpoolNetworkError`. Leaving the loop early (or the call's signal) closes the stream.
 */
export async function* jobEvents(http: Http, id: string, call: CallOptions = {}): AsyncGenerator<JobEvent, void, undefined> {
  const path = `/v1/jobs/${encodeURIComponent(id)}/events`;
  const res = await http.open({ method: 'GET', path, accept: 'text/event-stream' }, call);
  if (res.body === null) throw new RingpoolNetworkError(http.url, `GET ${http.url}${path} answered without a body`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await read(reader, call.signal, (err) => new RingpoolNetworkError(http.url, `the event stream of job ${id} broke: ${(err as Error).message}`, { cause: err }));
      if (done) throw new RingpoolNetworkError(http.url, `the event stream of job ${id} ended before the job's end event; the server may have stopped`);
      const event = toJobEvent(value, `GET ${http.url}${path}`);
      if (event === undefined) continue;
      yield event;
      if (event.event === 'end') return;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** One read; an abort of the call rejects with the signal's reason, a connection lost with `broken(err)`. */
async function read(
  reader: ReadableStreamDefaultReader<EventSourceMessage>,
  signal: AbortSignal | undefined,
  broken: (err: unknown) => Error,
): ReturnType<ReadableStreamDefaultReader<EventSourceMessage>['read']> {
  try {
    return await reader.read();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw broken(err);
  }
}

function toJobEvent(message: EventSourceMessage, request: string): JobEvent | undefined {
  switch (message.event) {
    case 'progress':
      return { event: 'progress', data: JSON.parse(message.data) as Extract<JobEvent, { event: 'progress' }>['data'] };
    case 'end':
      return { event: 'end', data: JSON.parse(message.data) as Extract<JobEvent, { event: 'end' }>['data'] };
    case 'error':
      throw streamError(message.data, request);
    default:
      return undefined; // an event type this client does not know: skipped, as EventSource does
  }
}

/** An `error` event's body (the API's error body) as the error it reports. */
function streamError(data: string, request: string): RingpoolApiError {
  const body = JSON.parse(data) as { error?: { code?: ApiErrorCode; message?: string; details?: unknown } };
  const code = body.error?.code ?? 'INTERNAL';
  // The stream had answered 200; the status is the one the API gives the code in any other answer.
  const status = code === 'REDIS_UNAVAILABLE' || code === 'NOT_REPLICATED' ? 503 : 500;
  return new RingpoolApiError({ status, code, message: body.error?.message ?? 'the event stream reported an error', details: body.error?.details, request });
}

// OpenTelemetry traces of every job (off by default): the SDK's start and stop, and the spans a job's path opens from a stored `traceparent`.
import { context, propagation, trace, SpanKind, SpanStatusCode, type Attributes, type Context, type Span } from '@opentelemetry/api';

export type { Span } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * How a job's trace is built (docs/architecture.md §5): the API's `POST /v1/jobs` span has a
 * `job <name>` child whose context is stored in the job hash (`traceparent`); every later piece
 * of work, in any process, starts its span from that stored context or from one a queue entry
 * carries (TaskBatch.traceparent). A job submitted while tracing was off has none and costs nothing.
 */
const TRACER = 'ringpool';

/** Whether this process started the SDK (only then is there anything to record). */
let running = false;

export interface TracingOptions {
  /** The OTLP/HTTP collector's base URL (`/v1/traces` is added unless given): spans are sent there as JSON. */
  readonly endpoint?: string;
  /** Spans go here instead (tests: the SDK's InMemorySpanExporter), each as it ends. */
  readonly exporter?: SpanExporter;
  /** What the process runs, recorded on every span's resource (`ringpool.roles`). */
  readonly roles?: string;
}

export interface Tracing {
  /** Sends the spans not yet sent and stops recording. */
  stop(): Promise<void>;
}

/**
 * Starts the SDK for this process and registers it as the API's global tracer, context manager
 * (AsyncLocalStorage) and W3C propagator. The SDK is loaded only here, so a process with tracing
 * off never loads it: the API's no-op tracer answers. A second start in the same process (several
 * nodes in one test) shares the first's and its stop does nothing.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  if (running) return { stop: async () => {} };
  const [{ NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor }, { resourceFromAttributes }, { OTLPTraceExporter }, { W3CTraceContextPropagator }, { ATTR_SERVICE_NAME }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/core'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const processor =
    options.exporter !== undefined
      ? new SimpleSpanProcessor(options.exporter)
      : new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(options.endpoint ?? '') }), { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'ringpool', 'ringpool.roles': options.roles ?? '', 'process.pid': process.pid }),
    spanProcessors: [processor],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  running = true;
  return {
    stop: async () => {
      await provider.shutdown().catch(() => {});
      trace.disable();
      context.disable();
      propagation.disable();
      running = false;
    },
  };
}

/** The OTLP/HTTP traces URL of a collector's base URL (`http://host:4318` → `http://host:4318/v1/traces`). */
export function tracesUrl(endpoint: string): string {
  return /\/v1\/traces\/?$/.test(endpoint) ? endpoint : `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

export function tracingOn(): boolean {
  return running;
}

/** The trace id a `traceparent` names (`00-<trace id>-<span id>-<flags>`), null for none. */
export function traceIdOf(traceparent: string | null | undefined): string | null {
  return traceparent?.split('-')[1] ?? null;
}

/** The W3C `traceparent` of a span: what is stored in the job hash or a queue entry to continue it elsewhere. */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return carrier.traceparent;
}

/** The context a stored `traceparent` continues. */
function contextOf(traceparent: string): Context {
  return propagation.extract(context.active(), { traceparent });
}

export interface SpanOptions {
  /** When the span began, ms since the epoch (work that started before this code saw it). */
  readonly startTime?: number;
  readonly attributes?: Attributes;
}

/**
 * A span child of the one `parent` names, or undefined (nothing recorded) when there is no parent
 * (the job is not traced) or tracing is off here. The caller ends it.
 */
export function startSpan(parent: string | null | undefined, name: string, options: SpanOptions = {}): Span | undefined {
  if (!running || !parent) return undefined;
  return trace.getTracer(TRACER).startSpan(name, spanOptions(options), contextOf(parent));
}

/**
 * Runs `fn` in a span child of `parent` (see startSpan), given the span's own `traceparent` for
 * work it hands on; the span ends with `fn`, marked as an error if `fn` throws.
 */
export async function inSpan<T>(parent: string | null | undefined, name: string, fn: (traceparent: string | undefined) => Promise<T>, options: SpanOptions = {}): Promise<T> {
  const span = startSpan(parent, name, options);
  if (span === undefined) return await fn(undefined);
  try {
    return await fn(traceparentOf(span));
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** A span that ends at once, for a stretch of time already over (a queue entry's wait). */
export function pastSpan(parent: Span | undefined, name: string, startTime: number, endTime: number, attributes?: Attributes): void {
  if (parent === undefined) return;
  trace.getTracer(TRACER).startSpan(name, spanOptions({ startTime, ...(attributes === undefined ? {} : { attributes }) }), trace.setSpan(context.active(), parent)).end(endTime);
}

/** Runs `fn` in a span child of `parent` (a span of this process), handed to `fn`, or just runs it without one. */
export async function inChildSpan<T>(parent: Span | undefined, name: string, fn: (span: Span | undefined) => Promise<T>, options: SpanOptions = {}): Promise<T> {
  if (parent === undefined) return await fn(undefined);
  const span = trace.getTracer(TRACER).startSpan(name, spanOptions(options), trace.setSpan(context.active(), parent));
  try {
    return await fn(span);
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs an HTTP request's handler in a server span continued from the request's `traceparent`
 * header if it has one (a new trace else), with the answer's status on it. Without tracing, just the handler.
 */
export async function inServerSpan(method: string, route: string, headers: (name: string) => string | undefined, fn: () => Promise<Response>): Promise<Response> {
  if (!running) return await fn();
  const incoming = propagation.extract(context.active(), { traceparent: headers('traceparent'), tracestate: headers('tracestate') });
  const span = trace.getTracer(TRACER).startSpan(`${method} ${route}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } }, incoming);
  try {
    const response = await context.with(trace.setSpan(incoming, span), fn);
    span.setAttribute('http.response.status_code', response.status);
    if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    return response;
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A span for the work of a new job, child of the active span (the request's) or a trace's root:
 * undefined when tracing is off.
 */
export function startJobSpan(name: string, attributes: Attributes): Span | undefined {
  if (!running) return undefined;
  return trace.getTracer(TRACER).startSpan(`job ${name}`, { attributes }, context.active());
}

function spanOptions(options: SpanOptions) {
  return { ...(options.startTime === undefined ? {} : { startTime: options.startTime }), ...(options.attributes === undefined ? {} : { attributes: options.attributes }) };
}

function failed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

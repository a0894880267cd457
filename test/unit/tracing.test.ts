// Tracing off costs nothing: no source file loads the OpenTelemetry SDK but through startTracing; and the small pure helpers.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSpan, traceIdOf, tracesUrl, tracingOn } from '../../src/observability/tracing.js';

const SRC = resolve(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|mjs|js|cjs)$/.test(f) ? [p] : [];
  });
}

describe('tracing off', () => {
  it('loads only the OpenTelemetry API: the SDK, exporter and propagator are imported by startTracing alone, when it runs', () => {
    const loaded = files(SRC).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s*'(@opentelemetry\/[^']+)'/gm)]
        .filter(([, typeOnly, spec]) => typeOnly === undefined && spec !== '@opentelemetry/api')
        .map(([, , spec]) => `${relative(SRC, file)}: ${spec}`),
    );
    expect(loaded).toEqual([]);
    const dynamic = files(SRC).filter((file) => /import\('@opentelemetry\//.test(readFileSync(file, 'utf8'))).map((file) => relative(SRC, file));
    expect(dynamic).toEqual(['observability/tracing.ts']);
  });

  it('opens no span, even for a job that was traced', () => {
    expect(tracingOn()).toBe(false);
    expect(startSpan('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'split')).toBeUndefined();
  });
});

describe('tracing helpers', () => {
  it("the traces URL of a collector's base URL", () => {
    expect(tracesUrl('http://localhost:4318')).toBe('http://localhost:4318/v1/traces');
    expect(tracesUrl('http://localhost:4318/')).toBe('http://localhost:4318/v1/traces');
    expect(tracesUrl('https://otel.example/v1/traces')).toBe('https://otel.example/v1/traces');
  });

  it('the trace id of a traceparent, null for none', () => {
    expect(traceIdOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traceIdOf(null)).toBeNull();
    expect(traceIdOf(undefined)).toBeNull();
  });
});

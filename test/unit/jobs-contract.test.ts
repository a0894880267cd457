// What every example job module promises the rest of ringpool: a describable schema, a repeatable split, JSON tasks.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import mandelbrot from '../../jobs/mandelbrot.js';
import pi from '../../jobs/pi.js';
import primes from '../../jobs/primes.js';
import wordcount from '../../jobs/wordcount.js';
import shardSearch from '../../jobs/shard-search.js';
import { defineJob, type AnyJob } from '../../src/sdk/index.js';
import { runJobInline, splitInline } from '../helpers/run-job-inline.js';

const examples: [AnyJob, unknown][] = [
  [primes, { from: 0, to: 2_000_000 }],
  [pi, { samples: 1_000_000, samplesPerTask: 100_000 }],
  [wordcount, { corpus: 'zipf-prose' }],
  [mandelbrot, { width: 120, height: 90 }],
  [shardSearch, { shards: 2, tasksPerShard: 3, shardKb: 4 }],
];

describe('example job modules', () => {
  for (const [job, input] of examples) {
    describe(job.name, () => {
      it('has an input schema that becomes JSON Schema with every field described', () => {
        for (const io of ['input', 'output'] as const) {
          const schema = z.toJSONSchema(job.input, { io }) as {
            type: string;
            properties: Record<string, { description?: string }>;
            additionalProperties: boolean;
          };
          expect(schema.type).toBe('object');
          expect(schema.additionalProperties).toBe(false);
          for (const [field, property] of Object.entries(schema.properties)) {
            expect(property.description, `${job.name}.${field}`).toMatch(/\w/);
          }
        }
      });

      it('splits the same input into the same tasks every time (a new leader resumes by re-splitting)', async () => {
        const first = await splitInline(job, input);
        const second = await splitInline(job, structuredClone(input));
        expect(first.length).toBeGreaterThan(1);
        expect(second).toEqual(first);
      });

      it('sends tasks and results through JSON unchanged', async () => {
        await expect(runJobInline(job, input, { jsonRoundTrip: true })).resolves.toBeDefined();
      });
    });
  }

  it('runJobInline refuses a task that JSON would change', async () => {
    const leaky = defineJob({
      name: 'leaky',
      input: z.object({}),
      *split() {
        yield { seen: new Map([['a', 1]]) };
      },
      run: () => 1,
      reduce: (results: number[]) => results.length,
    });
    await expect(runJobInline(leaky, {})).rejects.toThrow(/task 0 changes when sent through JSON/);
    await expect(runJobInline(leaky, {}, { jsonRoundTrip: false })).resolves.toBe(1);
  });
});

// Example job: group-by sums over a folder (an S3 prefix) of CSV files read by reference, one task per byte range of a file (docs/blobs.md).
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { defineJob, NonRetryableError, type BlobReader } from 'ringpool/sdk';

/** Bytes of a file per task, about: a range starts and ends anywhere, each line is counted by the range it starts in. */
export const DEFAULT_RANGE_BYTES = 16 * 1024 * 1024;

const Ref = z.strictObject({ $ref: z.string().regex(/^(s3:\/\/|file:\/\/\/)\S+$/, 'must be s3://bucket/prefix or file:///dir/prefix') });

export const csvAggregateInput = z.strictObject({
  source: Ref.describe('the prefix of the CSV files, e.g. { "$ref": "s3://data/sales/" }: every object under it is read; each has a header line'),
  groupBy: z.string().min(1).describe('the column whose values are the groups'),
  sum: z.array(z.string().min(1)).min(1).max(32).describe('the integer columns summed per group'),
  rangeBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(DEFAULT_RANGE_BYTES).describe('bytes of a file per task'),
});

/** One task: lines that start within [start, end) of one object, with the column positions from the header. */
export interface CsvRange {
  readonly ref: string;
  readonly start: number;
  readonly end: number;
  readonly header: string;
  readonly key: number;
  readonly columns: readonly number[];
}

/** Rows read and, per group, the sums of the `sum` columns in order. */
export interface CsvSums {
  readonly rows: number;
  readonly groups: Record<string, number[]>;
}

export default defineJob({
  name: 'csv-aggregate',
  description: 'Sums integer columns of CSV files under an S3 (or file) prefix, grouped by a column; one task per byte range of a file.',
  input: csvAggregateInput,
  async *split(input, ctx) {
    const files = (await ctx.blobs.list(input.source)).filter((f) => f.size > 0);
    if (files.length === 0) throw new NonRetryableError(`no objects under ${input.source.$ref}: upload the CSV files there or fix the prefix`);
    const header = await firstLine(ctx.blobs, files[0]?.ref as string);
    const names = header.split(',');
    const position = (column: string) => {
      const at = names.indexOf(column);
      if (at < 0) throw new NonRetryableError(`column ${JSON.stringify(column)} is not in the header of ${files[0]?.ref}: it has ${names.join(', ')}`);
      return at;
    };
    const key = position(input.groupBy);
    const columns = input.sum.map(position);
    for (const file of files) {
      for (let start = 0; start < file.size; start += input.rangeBytes) {
        yield { ref: file.ref, start, end: Math.min(file.size, start + input.rangeBytes), header, key, columns } satisfies CsvRange;
      }
    }
  },
  async run(task: CsvRange, ctx): Promise<CsvSums> {
    // From the byte before the range: if it is a line break, the first line starts exactly at `start`.
    const from = task.start === 0 ? 0 : task.start - 1;
    const stream = await ctx.blobs.get(task.ref, { range: { start: from } });
    try {
      return await sumLines(stream, task, from, ctx.signal);
    } finally {
      stream.destroy(); // past the range: the rest of the object is not read
    }
  },
  reduce(results: CsvSums[]) {
    const groups = new Map<string, number[]>();
    let rows = 0;
    for (const r of results) {
      rows += r.rows;
      for (const [k, sums] of Object.entries(r.groups)) addInto(groups, k, sums);
    }
    return { rows, groups: Object.fromEntries([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  },
  defaults: { taskTimeoutMs: 300_000 },
});

/** Reads lines from `from` on: skips the partial line before the range, stops after the last line that starts in it. */
async function sumLines(stream: Readable, task: CsvRange, from: number, signal: AbortSignal): Promise<CsvSums> {
  const groups = new Map<string, number[]>();
  let rows = 0;
  let carry = '';
  let offset = from; // the byte offset of `carry`'s first character (the files are ASCII)
  let skipFirst = task.start !== 0; // the part line before the range belongs to the range before
  let headerLine = task.start === 0;
  for await (const chunk of stream) {
    if (signal.aborted) throw signal.reason;
    const text = carry + (chunk as Buffer).toString('latin1');
    let lineStart = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', lineStart)) {
      if (offset + lineStart >= task.end) return { rows, groups: Object.fromEntries(groups) };
      const line = text.slice(lineStart, nl);
      lineStart = nl + 1;
      if (skipFirst) { skipFirst = false; continue; }
      if (headerLine) {
        headerLine = false;
        if (line !== task.header) throw new NonRetryableError(`${task.ref} has the header ${JSON.stringify(line.slice(0, 200))}, not the first file's ${JSON.stringify(task.header)}: every file needs the same columns`);
        continue;
      }
      if (line === '') continue;
      addRow(groups, line, task);
      rows++;
    }
    offset += lineStart;
    carry = text.slice(lineStart);
  }
  // The last line of a file without a final line break.
  if (carry !== '' && !skipFirst && !headerLine && offset < task.end) { addRow(groups, carry, task); rows++; }
  return { rows, groups: Object.fromEntries(groups) };
}

function addRow(groups: Map<string, number[]>, line: string, task: CsvRange): void {
  const cells = line.split(',');
  const values = task.columns.map((c) => {
    const v = Number(cells[c]);
    if (!Number.isSafeInteger(v)) throw new NonRetryableError(`${task.ref}: ${JSON.stringify(cells[c])} in line ${JSON.stringify(line.slice(0, 200))} is not an integer`);
    return v;
  });
  addInto(groups, cells[task.key] ?? '', values);
}

function addInto(groups: Map<string, number[]>, key: string, values: readonly number[]): void {
  const sums = groups.get(key);
  if (sums === undefined) groups.set(key, [...values]);
  else for (let i = 0; i < values.length; i++) sums[i] = (sums[i] as number) + (values[i] as number);
}

/** The header: the first line of the object (read from its first 64 KiB). */
async function firstLine(blobs: BlobReader, ref: string): Promise<string> {
  let text = '';
  for await (const chunk of await blobs.get(ref, { range: { start: 0, end: 65_535 } })) text += (chunk as Buffer).toString('latin1');
  const nl = text.indexOf('\n');
  if (nl < 0) throw new NonRetryableError(`${ref} has no header line in its first 64 KiB: the first line must name the columns`);
  return text.slice(0, nl).replace(/\r$/, '');
}

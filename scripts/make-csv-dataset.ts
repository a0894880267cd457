// Writes a deterministic CSV dataset (from a seed) for the csv-aggregate example, to a folder or an S3 prefix, and the sums it must give.
// usage: node --import tsx scripts/make-csv-dataset.ts (--out DIR | --s3 s3://bucket/prefix [--endpoint URL]) [--mb 200] [--files 20] [--seed 1]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

/** The header of every file; group by `product`, sum `qty` and `cents`. */
export const CSV_HEADER = 'region,product,qty,cents';
export const CSV_GROUP_BY = 'product';
export const CSV_SUM = ['qty', 'cents'] as const;

export interface CsvDatasetOptions {
  /** Total size, MB (10^6 bytes), about. */
  readonly mb: number;
  readonly files: number;
  readonly seed: number;
  /** Called once per file with its name (`part-0000.csv`) and bytes. */
  readonly write: (name: string, bytes: Buffer) => Promise<void> | void;
}

/** What the csv-aggregate job must answer for the dataset: computed as it is written, not by reading it back. */
export interface CsvExpected {
  readonly rows: number;
  readonly bytes: number;
  readonly groups: Record<string, number[]>;
}

const REGIONS = ['north', 'south', 'east', 'west', 'centre'];
const PRODUCTS = 500;

/** Writes the files one by one (at most one file in memory) and returns the sums they hold. */
export async function makeCsvDataset(options: CsvDatasetOptions): Promise<CsvExpected> {
  const random = mulberry32(options.seed);
  const perFile = Math.ceil((options.mb * 1_000_000) / options.files);
  const sums = new Map<string, number[]>();
  let rows = 0;
  let bytes = 0;
  for (let f = 0; f < options.files; f++) {
    const lines: string[] = [CSV_HEADER];
    let size = CSV_HEADER.length + 1;
    while (size < perFile) {
      const product = `p${String(Math.floor(random() * PRODUCTS)).padStart(4, '0')}`;
      const qty = 1 + Math.floor(random() * 100);
      const cents = Math.floor(random() * 1_000_000);
      const line = `${REGIONS[Math.floor(random() * REGIONS.length)]},${product},${qty},${cents}`;
      lines.push(line);
      size += line.length + 1;
      rows++;
      const s = sums.get(product);
      if (s === undefined) sums.set(product, [qty, cents]);
      else { s[0] = (s[0] as number) + qty; s[1] = (s[1] as number) + cents; }
    }
    const body = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
    bytes += body.length;
    await options.write(`part-${String(f).padStart(4, '0')}.csv`, body);
  }
  return { rows, bytes, groups: Object.fromEntries([...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}

/** A small fast PRNG, so the same seed gives the same files on every machine. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uploads to `s3://bucket/prefix/<name>` with the AWS SDK (credentials from the usual AWS_* variables). */
export async function s3Writer(url: string, endpoint: string | undefined): Promise<(name: string, bytes: Buffer) => Promise<void>> {
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (match === null) throw new Error(`--s3 must be s3://bucket/prefix, got ${url}`);
  const [, bucket, prefix] = match as unknown as [string, string, string];
  const client = new S3Client({ ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }), region: process.env.AWS_REGION ?? 'us-east-1', requestChecksumCalculation: 'WHEN_REQUIRED' });
  const base = prefix.replace(/\/+$/, '');
  return async (name, bytes) => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: base === '' ? name : `${base}/${name}`, Body: bytes, ContentLength: bytes.length }));
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, s3: { type: 'string' }, endpoint: { type: 'string' }, mb: { type: 'string' }, files: { type: 'string' }, seed: { type: 'string' } } });
  if ((values.out === undefined) === (values.s3 === undefined)) throw new Error('give --out DIR or --s3 s3://bucket/prefix');
  let write: CsvDatasetOptions['write'];
  if (values.out !== undefined) {
    const dir = values.out;
    mkdirSync(dir, { recursive: true });
    write = (name, bytes) => writeFileSync(join(dir, name), bytes);
  } else write = await s3Writer(values.s3 as string, values.endpoint);
  const expected = await makeCsvDataset({ mb: Number(values.mb ?? 200), files: Number(values.files ?? 20), seed: Number(values.seed ?? 1), write });
  console.log(JSON.stringify(expected));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(2);
  });
}

// `npm run bench -- data [--quick] [--mb N] [--json]`: csv-aggregate over a CSV dataset in S3 (s3rver, its own process) on a real node,
// against a serial reading of the same files; Redis's peak memory while it runs; a 100 MB result written and streamed back (docs/blobs.md).
import { Redis } from 'ioredis';
import { S3BlobStore } from '../src/blobs/s3-store.js';
import { collect } from '../src/blobs/streams.js';
import { CSV_GROUP_BY, CSV_SUM, makeCsvDataset, s3Writer, type CsvExpected } from '../scripts/make-csv-dataset.js';
import { FIXTURE_JOBS } from '../test/helpers/cluster.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { BENCH_JOBS, hasFlag, numberFlag, startBenchCluster } from './harness.js';
import { formatNumber, printTable, type BenchSuite } from './report.js';

const MB = 1_000_000;

const data: BenchSuite = async (args) => {
  const quick = hasFlag(args, 'quick');
  const mb = numberFlag(args, 'mb', quick ? 16 : 200);
  const files = numberFlag(args, 'files', quick ? 4 : 20);
  const largeMb = numberFlag(args, 'large-mb', quick ? 10 : 100);
  const s3 = await startS3Server(['data', 'results']);
  Object.assign(process.env, s3.env);
  try {
    const expected = await makeCsvDataset({ mb, files, seed: 1, write: await s3Writer('s3://data/csv/', s3.endpoint) });
    const serial = await serialReference(s3.endpoint);
    const cluster = await startBenchCluster({ blobStore: { url: 's3://results/bench', endpoint: s3.endpoint }, jobsDirs: [BENCH_JOBS, FIXTURE_JOBS] });
    const redis = new Redis(cluster.redis.masterUrl, { lazyConnect: true });
    try {
      const input = { source: { $ref: 's3://data/csv/' }, groupBy: CSV_GROUP_BY, sum: [...CSV_SUM] };
      const started = performance.now();
      const id = await cluster.submit('csv-aggregate', input);
      const job = await cluster.wait(id, 50);
      const result = job.status === 'completed' ? await cluster.result(id) : undefined;
      const jobSec = (performance.now() - started) / 1000;
      const redisPeakMb = Number(/used_memory_peak:(\d+)/.exec(await redis.info('memory'))?.[1]) / 2 ** 20;
      const large = await largeResult(cluster.url, largeMb);
      const wrongResults = (sameSums(result, expected) ? 0 : 1) + (sameSums(serial.result, expected) ? 0 : 1) + large.wrong;
      const figures = {
        datasetMb: Math.round(expected.bytes / MB),
        tasks: job.progress.total ?? 0,
        inputMbPerSec: round(expected.bytes / MB / jobSec),
        serialMbPerSec: round(expected.bytes / MB / serial.seconds),
        speedupOverSerial: round(serial.seconds / jobSec),
        redisPeakMb: round(redisPeakMb),
        largeResultMb: round(large.bytes / MB),
        largeResultMbPerSec: round(large.bytes / MB / large.seconds),
        wrongResults,
      };
      printTable(`csv-aggregate over ${figures.datasetMb} MB in S3 (s3rver), ${figures.tasks} tasks; a ${figures.largeResultMb} MB result`, [
        ['figure', 'value'],
        ...Object.entries(figures).map(([k, v]) => [k, formatNumber(v)]),
      ]);
      return figures;
    } finally {
      redis.disconnect();
      await cluster.close();
    }
  } finally {
    await s3.stop();
  }
};

/** The baseline: every file read whole, one after the other, and summed by a plain parser in this process. */
async function serialReference(endpoint: string): Promise<{ seconds: number; result: unknown }> {
  const store = await S3BlobStore.open({ url: 's3://data/csv', endpoint });
  const started = performance.now();
  const groups = new Map<string, number[]>();
  let rows = 0;
  for (const file of await store.list('s3://data/csv/')) {
    const lines = (await collect(await store.get(file.ref))).toString('latin1').split('\n');
    const header = (lines[0] as string).split(',');
    const [k, a, b] = [header.indexOf(CSV_GROUP_BY), header.indexOf(CSV_SUM[0]), header.indexOf(CSV_SUM[1])];
    for (let i = 1; i < lines.length; i++) {
      if (lines[i] === '') continue;
      const cells = (lines[i] as string).split(',');
      const sums = groups.get(cells[k] as string) ?? [0, 0];
      sums[0] = (sums[0] as number) + Number(cells[a]);
      sums[1] = (sums[1] as number) + Number(cells[b]);
      groups.set(cells[k] as string, sums);
      rows++;
    }
  }
  return { seconds: (performance.now() - started) / 1000, result: { rows, groups: Object.fromEntries([...groups].sort(([x], [y]) => (x < y ? -1 : 1))) } };
}

function sameSums(result: unknown, expected: CsvExpected): boolean {
  return JSON.stringify(result) === JSON.stringify({ rows: expected.rows, groups: expected.groups });
}

/** A job whose result is `mb` MB of JSON (10 strings), written to the blob store by the reduce and fetched back through the result route. */
async function largeResult(url: string, mb: number): Promise<{ bytes: number; seconds: number; wrong: number }> {
  const perTask = Math.floor((mb * MB) / 10);
  const started = performance.now();
  const submitted = (await (await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: 'big-result', input: { bytes: perTask, tasks: 10, echo: true } }) })).json()) as { id: string };
  for (;;) {
    const { status } = (await (await fetch(`${url}/v1/jobs/${submitted.id}`)).json()) as { status: string };
    if (['completed', 'failed', 'cancelled'].includes(status)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const answer = await fetch(`${url}/v1/jobs/${submitted.id}/result`);
  let bytes = 0;
  let xs = 0;
  for await (const chunk of answer.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    for (let i = 0; i < chunk.byteLength; i++) if (chunk[i] === 0x78) xs++; // 'x'
  }
  const seconds = (performance.now() - started) / 1000;
  const length = Number(answer.headers.get('content-length'));
  const expectedBytes = JSON.stringify({ id: submitted.id, result: Array.from({ length: 10 }, () => '') }).length + perTask * 10;
  const idXs = submitted.id.split('x').length - 1; // the id may hold an x too
  const wrong = answer.status === 200 && bytes === length && bytes === expectedBytes && xs - idXs === perTask * 10 ? 0 : 1;
  if (wrong) console.error(`large result: status ${answer.status}, ${bytes} bytes of ${length}, ${xs} x's of ${perTask * 10}`);
  return { bytes, seconds, wrong };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export default data;

// Inputs and results by reference (docs/blobs.md) against a real S3 endpoint (s3rver, its own process) and a folder.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BlobStore } from '../../src/blobs/blob-store.js';
import { FileBlobStore } from '../../src/blobs/file-store.js';
import { S3BlobStore } from '../../src/blobs/s3-store.js';
import { collect } from '../../src/blobs/streams.js';
import { sweepExpiredJobBlobs } from '../../src/blobs/sweep.js';
import { createLogger } from '../../src/cli/logger.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { startNode } from '../../src/node/node.js';
import { createKeys } from '../../src/store/keys.js';
import { makeCsvDataset, s3Writer, CSV_GROUP_BY, CSV_SUM, type CsvExpected } from '../../scripts/make-csv-dataset.js';
import { FIXTURE_JOBS, startTestNode, type TestNode } from '../helpers/cluster.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

/** A secret the SDK signs with (s3rver does not check it): it must appear in no log line. */
const SECRET = `secret-${Math.random().toString(36).slice(2)}-never-logged`;

let s3: S3Server;
let fileDir: string;
let expected: CsvExpected;
const savedEnv = { ...process.env };

beforeAll(async () => {
  s3 = await startS3Server(['data', 'results'], SECRET);
  Object.assign(process.env, s3.env); // the SDK's default chain, as a user's AWS_* variables
  fileDir = mkdtempSync(join(tmpdir(), 'ringpool-blobs-'));
  const upload = await s3Writer('s3://data/sales/', s3.endpoint);
  expected = await makeCsvDataset({ mb: 1, files: 3, seed: 7, write: upload });
});

afterAll(async () => {
  await s3?.stop();
  rmSync(fileDir, { recursive: true, force: true });
  for (const k of Object.keys(s3?.env ?? {})) if (savedEnv[k] === undefined) delete process.env[k];
});

const text = async (store: BlobStore, ref: string, range?: { start: number; end?: number }) => (await collect(await store.get(ref, range === undefined ? {} : { range }))).toString();

describe.each([
  ['s3', () => S3BlobStore.open({ url: 's3://results/base', endpoint: s3.endpoint })],
  ['file', async () => new FileBlobStore(`file://${fileDir}`)],
] as const)('the %s blob store', (kind, open) => {
  it('puts content-addressed, lists, heads, gets whole and by range, deletes a folder', async () => {
    const store: BlobStore = await open();
    const a = await store.put('jobs/j1', Buffer.from('hello, blob world'), '.txt');
    const again = await store.put('jobs/j1', Buffer.from('hello, blob world'), '.txt');
    expect(again.ref).toBe(a.ref); // same bytes, same object
    await store.put('jobs/j2', Buffer.from('another'));
    expect(a.ref.startsWith(`${store.root}/jobs/j1/`)).toBe(true);
    expect((await store.list(`${store.root}/jobs/`)).map((o) => o.size).sort((x, y) => x - y)).toEqual([7, 17]);
    expect(await store.head(a.ref)).toMatchObject({ ref: a.ref, size: 17 });
    expect(await text(store, a.ref)).toBe('hello, blob world');
    expect(await text(store, a.ref, { start: 7, end: 10 })).toBe('blob');
    expect(await text(store, a.ref, { start: 12 })).toBe('world');
    expect((await store.listDirs('jobs')).sort()).toEqual(['j1', 'j2']);
    expect(await store.deleteDir('jobs/j1')).toBe(1);
    expect(await store.listDirs('jobs')).toEqual(['j2']);
    await expect(store.head(a.ref)).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND', details: { ref: a.ref } });
    await store.deleteDir('jobs');
  });

  it('names the reference when an object or its bucket is missing', async () => {
    const store: BlobStore = await open();
    const missing = `${store.root}/no/such/object`;
    await expect(store.get(missing)).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND', message: expect.stringContaining(missing) });
    await expect(store.head(missing)).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
    if (kind === 's3') {
      await expect(store.get('s3://no-such-bucket/k')).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND', message: expect.stringMatching(/s3:\/\/no-such-bucket\/k: its bucket does not exist/) });
      await expect(store.list('s3://no-such-bucket/')).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
    } else {
      await expect(store.get('file:///etc/passwd')).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('outside the blob store') });
    }
  });
});

describe('jobs over references on a node with an S3 blob store', () => {
  let inline: TestNode; // results over 1 GiB would go to S3: none do
  let byRef: TestNode; // every result goes to S3 (threshold 0)
  const blobStore = () => ({ url: 's3://results/rp', endpoint: s3.endpoint }) as Config['blobStore'];
  const input = { source: { $ref: 's3://data/sales/' }, groupBy: CSV_GROUP_BY, sum: [...CSV_SUM], rangeBytes: 100_000 };

  beforeAll(async () => {
    [inline, byRef] = await Promise.all([
      startTestNode({ blobStore: blobStore(), blobResultThreshold: 1 << 30 }, 'blobs-inline'),
      startTestNode({ blobStore: blobStore(), blobResultThreshold: 0 }, 'blobs-byref'),
    ]);
  });
  afterAll(async () => {
    await Promise.all([inline?.close(), byRef?.close()]);
  });

  async function run(node: TestNode, body: unknown): Promise<any> {
    const created = await node.api('/v1/jobs', { body });
    expect(created.status).toBe(202);
    return node.waitForJob(created.body.id);
  }

  it('csv-aggregate over an S3 prefix gives the generator\'s sums, whatever the result threshold', async () => {
    const [a, b] = await Promise.all([run(inline, { job: 'csv-aggregate', input }), run(byRef, { job: 'csv-aggregate', input })]);
    expect(a.status).toBe('completed');
    expect(b.status).toBe('completed');
    expect(a.progress.total).toBeGreaterThanOrEqual(3 * 4); // byte ranges, not whole files: line boundaries crossed
    const [ra, rb] = await Promise.all([inline.api(`/v1/jobs/${a.id}/result`), byRef.api(`/v1/jobs/${b.id}/result`)]);
    expect(ra.body.result).toEqual({ rows: expected.rows, groups: expected.groups });
    expect(rb.body.result).toEqual(ra.body.result);
    // Redis holds the value inline on one node, only a reference on the other.
    const inlineStored = await inline.redis.get(createKeys(inline.prefix).jobResult(a.id));
    const refStored = await byRef.redis.get(createKeys(byRef.prefix).jobResult(b.id));
    expect(inlineStored).toContain('"groups"');
    expect(JSON.parse(refStored as string)).toEqual({ $ringpoolBlob: { ref: expect.stringMatching(new RegExp(`^s3://results/rp/${byRef.prefix}/results/${b.id}/[0-9a-f]{64}\\.json$`)), bytes: expect.any(Number) } });
    expect((refStored as string).length).toBeLessThan(300);
  });

  it('streams a result kept in S3 with Content-Length and answers a Range with 206 (416 past the end)', async () => {
    const job = await run(byRef, { job: 'big-result', input: { bytes: 300_000, tasks: 2, echo: true } });
    expect(job.status).toBe('completed');
    const url = `${byRef.url}/v1/jobs/${job.id}/result`;
    const whole = await fetch(url);
    const body = Buffer.from(await whole.arrayBuffer());
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Number(whole.headers.get('content-length'))).toBe(body.length);
    expect(JSON.parse(body.toString())).toEqual({ id: job.id, result: ['x'.repeat(300_000), 'x'.repeat(300_000)] });
    for (const [range, from, to] of [['bytes=0-19', 0, 19], ['bytes=25-300040', 25, 300_040], [`bytes=${body.length - 30}-`, body.length - 30, body.length - 1], ['bytes=-7', body.length - 7, body.length - 1]] as const) {
      const part = await fetch(url, { headers: { range } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${from}-${to}/${body.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(body.subarray(from, to + 1))).toBe(true);
    }
    const past = await fetch(url, { headers: { range: `bytes=${body.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${body.length}`);
    expect(await past.json()).toMatchObject({ error: { code: 'BAD_INPUT', message: expect.stringContaining('starts past the end') } });
  });

  it('a missing key or bucket fails the job with BLOB_NOT_FOUND naming the reference; the node keeps serving', async () => {
    const missingKey = await run(byRef, { job: 'blob-read', input: { refs: [{ $ref: 's3://data/sales/part-0000.csv' }, { $ref: 's3://data/sales/nope.csv' }], range: { start: 0, end: 5 } } });
    expect(missingKey.status).toBe('failed');
    expect(missingKey.error).toMatchObject({ code: 'BLOB_NOT_FOUND', message: expect.stringContaining('s3://data/sales/nope.csv') });
    const missingBucket = await run(byRef, { job: 'csv-aggregate', input: { ...input, source: { $ref: 's3://no-such-bucket/x/' } } });
    expect(missingBucket.status).toBe('failed');
    expect(missingBucket.error).toMatchObject({ code: 'BLOB_NOT_FOUND', message: expect.stringContaining('s3://no-such-bucket/x/: its bucket does not exist') });
    const ok = await run(byRef, { job: 'blob-read', input: { refs: [{ $ref: 's3://data/sales/part-0001.csv' }], range: { start: 0, end: 5 } } });
    expect(ok.status).toBe('completed');
  });

  it('a job that expired from Redis has its result objects swept; a live job keeps them', async () => {
    const store = await S3BlobStore.open({ url: 's3://results/rp', endpoint: s3.endpoint });
    const [kept, expired] = await Promise.all([
      run(byRef, { job: 'big-result', input: { bytes: 10, tasks: 1 } }),
      run(byRef, { job: 'big-result', input: { bytes: 20, tasks: 1 } }),
    ]);
    const keys = createKeys(byRef.prefix);
    await byRef.redis.del(keys.job(expired.id), keys.jobResult(expired.id)); // as the TTL would
    const exists = async (id: string) => (await byRef.redis.exists(keys.job(id))) === 1;
    expect(await sweepExpiredJobBlobs(store, byRef.prefix, exists)).toBeGreaterThan(0);
    const dirs = await store.listDirs(`${byRef.prefix}/results`);
    expect(dirs).toContain(kept.id);
    expect(dirs).not.toContain(expired.id);
  });
});

describe('credentials', () => {
  it('appear in no log line, even with debug logs and failing reads; a logged SDK credential object is redacted', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(chunk.toString()); done(); } });
    const logger = createLogger('debug', sink);
    const prefix = uniquePrefix('blobs-logs');
    const dataDir = mkdtempSync(join(tmpdir(), 'ringpool-test-blobs-logs-'));
    const config = { ...loadConfig({ port: 0, threads: 1, workerId: 'w-logs', jobsDirs: [FIXTURE_JOBS], dataDir, prefix }, {}), blobStore: { url: 's3://results/logs', endpoint: s3.endpoint }, blobResultThreshold: 0 };
    const node = await startNode({ ...config, redisUrl: inject('redisUrl') }, { api: true, scheduler: true, worker: true }, logger);
    try {
      const api = (path: string, body?: unknown) => fetch(`${node.url}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
      const ids = [
        (await api('/v1/jobs', { job: 'blob-read', input: { refs: [{ $ref: 's3://data/sales/none.csv' }] } })).id,
        (await api('/v1/jobs', { job: 'blob-read', input: { refs: [{ $ref: 's3://data/sales/part-0002.csv' }], range: { start: 0, end: 3 } } })).id,
      ];
      for (const id of ids) {
        for (let i = 0; i < 400 && !['completed', 'failed'].includes((await api(`/v1/jobs/${id}`)).status); i++) await new Promise((r) => setTimeout(r, 50));
      }
      expect((await api(`/v1/jobs/${ids[0]}`)).status).toBe('failed');
      expect((await api(`/v1/jobs/${ids[1]}/result`)).result).toEqual(['regi']);
      const { S3Client } = await import('@aws-sdk/client-s3');
      const credentials = await new S3Client({ region: 'us-east-1' }).config.credentials();
      expect(credentials.secretAccessKey).toBe(SECRET); // the chain did read it
      logger.warn({ credentials, client: { secretAccessKey: credentials.secretAccessKey } }, 'an object carrying credentials');
      logger.flush?.();
    } finally {
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const all = lines.join('');
    expect(all).toContain('an object carrying credentials');
    expect(all).not.toContain(SECRET);
  });
});

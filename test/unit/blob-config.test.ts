// The blob store options: flag, environment and config-file forms, and messages that name the field; byte ranges of the result route.
import { describe, expect, it } from 'vitest';
import { parseRange } from '../../src/blobs/result-stream.js';
import { blobRuntime } from '../../src/blobs/runtime.js';
import { loadConfig } from '../../src/config/config.js';

describe('blob store config', () => {
  it('takes a URL from the flag or the environment, and the object form; none means no blob store', () => {
    expect(blobRuntime(loadConfig({}, {}))).toBeUndefined();
    expect(blobRuntime(loadConfig({ blobStore: 's3://data/pre' }, {}))).toEqual({ url: 's3://data/pre', resultThresholdBytes: 1_048_576, namespace: 'ringpool' });
    expect(loadConfig({}, { RINGPOOL_BLOB_STORE: 'file:///var/blobs', RINGPOOL_BLOB_RESULT_THRESHOLD: '0' })).toMatchObject({ blobStore: { url: 'file:///var/blobs' }, blobResultThreshold: 0 });
    expect(loadConfig({ blobStore: { url: 's3://bkt/p', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true } }, {}).blobStore).toEqual({ url: 's3://bkt/p', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
  });

  it('refuses a URL that is neither s3:// nor file:///, naming the flag and the variable', () => {
    expect(() => loadConfig({ blobStore: 'http://bucket/x' }, {})).toThrow(/blobStore(\.url)? \(--blob-store or RINGPOOL_BLOB_STORE\): must be s3:\/\/bucket\/prefix or file:\/\/\/absolute\/dir/);
    expect(() => loadConfig({ blobStore: { url: 's3://bkt', endpoint: 'ftp://x' } }, {})).toThrow(/blobStore\.endpoint .*http:\/\/ or https:\/\//);
    expect(() => loadConfig({ blobResultThreshold: -1 }, {})).toThrow(/blobResultThreshold \(--blob-result-threshold/);
  });
});

describe('parseRange', () => {
  it('reads one byte range within the size; several ranges or other units are ignored (the whole body)', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual([0, 9]);
    expect(parseRange('bytes=90-', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=95-200', 100)).toEqual([95, 99]);
    expect(parseRange('bytes=-10', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=-500', 100)).toEqual([0, 99]);
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=5-2', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
  });
});

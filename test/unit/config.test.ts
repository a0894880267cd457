// Configuration: flags over environment over config file over defaults, clear errors, secrets masked.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, maskedConfig } from '../../src/config/config.js';

const file = (content: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), 'ringpool-config-')), 'ringpool.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

describe('loadConfig', () => {
  it('takes flags over the environment over the config file over the defaults', () => {
    const path = file({ port: 4000, threads: 3, prefix: 'from-file' });
    const config = loadConfig({ port: 5000 }, { RINGPOOL_PORT: '4500', RINGPOOL_THREADS: '5' }, path);
    expect(config.port).toBe(5000);
    expect(config.threads).toBe(5);
    expect(config.prefix).toBe('from-file');
    expect(config.leaseMs).toBe(2000);
  });

  it('names the flag and the variable of a bad value', () => {
    expect(() => loadConfig({ port: 'abc' }, {})).toThrow(/port \(--port or RINGPOOL_PORT\)/);
    expect(() => loadConfig({}, { RINGPOOL_SENTINELS: 'nohost' })).toThrow(/--sentinels or RINGPOOL_SENTINELS\): each sentinel must be host:port/);
  });

  it('refuses unknown settings and malformed files with the file named', () => {
    expect(() => loadConfig({}, {}, file({ prot: 1 }))).toThrow(/unknown settings: prot/);
    expect(() => loadConfig({}, {}, file('{nope'))).toThrow(/cannot read the config file .*ringpool\.json/);
    expect(() => loadConfig({}, {}, file([1]))).toThrow(/must hold a JSON object/);
  });

  it('masks secrets when printed', () => {
    const config = loadConfig({ apiTokens: ['0123456789abcdef0123:read'], clusterSecret: 'supersecretsupersecret', redisUrl: 'redis://user:pw@host:6379' }, {});
    const shown = JSON.stringify(maskedConfig(config));
    expect(shown).not.toMatch(/0123456789abcdef|supersecret|:pw@/);
    expect(shown).toMatch(/:read/);
  });
});

// Imports point one way (CONVENTIONS): raft/ and ring/ import nothing else of ours; scheduler/ no I/O parts; only store/ reaches Redis.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|mjs)$/.test(f) ? [p] : [];
  });
}

/** Our own modules a file imports, as paths relative to src/. */
function ownImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)].map((m) => relative(SRC, resolve(dirname(file), m[1] as string)));
}

const RULES: Record<string, (target: string) => boolean> = {
  // The pure cores: nothing of ours but the shared error type (the Raft driver only).
  ring: (t) => t.startsWith('ring/'),
  raft: (t) => t.startsWith('raft/') || t === 'errors.js',
  sdk: (t) => t.startsWith('sdk/'),
  // Only the composition root and the CLI import everything.
  scheduler: (t) => !/^(node|cli|api|worker)\//.test(t),
  worker: (t) => !/^(node|cli|api|scheduler)\//.test(t),
  store: (t) => !/^(node|cli|api|worker|scheduler)\//.test(t),
  api: (t) => !/^(node|cli|worker|scheduler)\//.test(t),
};

describe('import direction', () => {
  for (const [folder, allowed] of Object.entries(RULES)) {
    it(`${folder}/ imports only what it may`, () => {
      const dir = join(SRC, folder);
      let all: string[] = [];
      try {
        all = files(dir);
      } catch {
        return;
      }
      const violations = all.flatMap((f) => ownImports(f).filter((t) => !allowed(t)).map((t) => `${relative(SRC, f)} → ${t}`));
      expect(violations).toEqual([]);
    });
  }

  it('only store/ (and node/, the composition root, which opens the connections) reaches Redis itself', () => {
    const offenders = files(SRC)
      .filter((f) => !/^(store|node)\//.test(relative(SRC, f)))
      .flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        const found = [
          /\bimport\s+(?!type\b)[^;]*from\s*'ioredis'/.test(text) ? 'imports a value from ioredis' : '',
          /from\s*'[^']*store\/keys\.js'/.test(text) ? 'imports the key names' : '',
          /\.keys\.[A-Za-z]/.test(text) ? 'reads a key name' : '',
          /\bnew\s+(Queue|Worker)\b/.test(text) ? 'builds a BullMQ queue or worker (WorkerStore does)' : '',
        ];
        return found.filter(Boolean).map((what) => `${relative(SRC, f)} ${what}`);
      });
    expect(offenders).toEqual([]);
  });

  it('no Date.now or Math.random in the pure cores', () => {
    const offenders = ['ring', 'raft']
      .flatMap((d) => {
        try {
          return files(join(SRC, d));
        } catch {
          return [];
        }
      })
      .filter((f) => !f.endsWith('driver.ts') && !/storage/.test(f))
      .filter((f) => /\b(Date\.now|Math\.random)\s*\(/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });
});

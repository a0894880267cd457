// Imports point one way (docs/architecture.md §7): raft/ and ring/ import nothing else of ours; scheduler/ no I/O parts; only store/ reaches Redis.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import ts from 'typescript';
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

  it('client/ pulls in neither the server nor zod at run time: only types from api/wire.ts, sdk/ and zod; values from client/, errors.ts and eventsource-parser', () => {
    const violations = files(join(SRC, 'client')).flatMap((f) => {
      const text = readFileSync(f, 'utf8');
      return [...text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s*'([^']+)'/gm)].flatMap(([statement, typeOnly, spec]) => {
        const target = spec!.startsWith('.') ? relative(SRC, resolve(dirname(f), spec!)) : spec!;
        const ok = target.startsWith('client/') || target === 'errors.js' || target.startsWith('eventsource-parser') || (typeOnly !== undefined && (target === 'api/wire.js' || target.startsWith('sdk/') || target === 'zod'));
        return ok ? [] : [`${relative(SRC, f)}: ${statement.split('\n')[0]}`];
      });
    });
    expect(violations).toEqual([]);
  });

  it('only store/ (and node/, the composition root, which opens the connections) reaches Redis itself', () => {
    const offenders = files(SRC)
      .filter((f) => !/^(store|node)\//.test(relative(SRC, f)))
      .flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        const found = [
          /\bimport\s+(?!type\b)[^;]*from\s*'ioredis'/.test(text) ? 'imports a value from ioredis' : '',
          /from\s*'[^']*store\/keys\.js'/.test(text) ? 'imports the key names' : '',
          /\.keys\.[A-Za-z]/.test(text) ? 'reads a key name' : '',
          // node:worker_threads has a Worker too: only a file that takes Queue or Worker from bullmq builds one.
          /\bnew\s+(Queue|Worker)\b/.test(text) && /\bimport\s+(?!type\b)[^;]*from\s*'bullmq'/.test(text) ? 'builds a BullMQ queue or worker (WorkerStore does)' : '',
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

/** Every source file under src/, browser assets included. */
function sources(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : /\.(ts|mts|js|mjs|cjs)$/.test(f) ? [p] : [];
    });
  return walk(SRC);
}

describe('functions a reader can hold at once', () => {
  const LIMIT = 100;
  /** The exceptions docs/architecture.md §9 names, as `file:function`. */
  const allowed = new Set(
    [...readFileSync(resolve(SRC, '../docs/architecture.md'), 'utf8').matchAll(/^\| `([^`]+)` \(`src\/([^`]+)`\) \|/gm)].map((m) => `${m[2]}:${m[1]}`),
  );

  it(`no function in src/ is over ${LIMIT} lines (nested functions counted in their parent) but those docs/architecture.md §9 names`, () => {
    const long: string[] = [];
    for (const file of sources()) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
          const lines = source.getLineAndCharacterOfPosition(node.end).line - source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          const name = functionName(node);
          const id = `${relative(SRC, file)}:${name}`;
          if (lines > LIMIT && !allowed.has(id)) long.push(`${id} (${lines} lines)`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });
});

function functionName(node: ts.SignatureDeclaration): string {
  if (node.name !== undefined) return node.name.getText();
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText();
  return '<anonymous>';
}

describe('the design is cited from the repo', () => {
  it('no comment cites a document outside the repository', () => {
    const ROOT = resolve(SRC, '..');
    const dirs = ['src', 'test', 'bench', 'jobs', 'infra', 'docs'];
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        if (f === 'node_modules' || f.startsWith('.')) return [];
        return statSync(p).isDirectory() ? walk(p) : /\.(ts|mts|js|mjs|cjs|lua|md|ya?ml|sh)$/.test(f) ? [p] : [];
      });
    const self = resolve(import.meta.filename);
    const offenders = dirs
      .flatMap((d) => walk(join(ROOT, d)))
      .filter((f) => f !== self && /\bDESIGN(\.md| §)|\bCONVENTIONS\b|\.\.\/shared\//.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});

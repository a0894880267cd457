// tsc over a file that uses the typed client: a wrong input to submit('primes', …) fails the compile, pointing at the bad property; fixed, it compiles.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
// Inside the repo so the file resolves the repo's modules; a dot-folder, so the repo's own tsconfig (include: test) never sees it.
const dir = mkdtempSync(join(ROOT, 'test', '.client-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `use.ts` calling submit('primes', <input>) and runs tsc on it with the repo's compiler options. */
async function compile(input: string): Promise<{ code: number; output: string; source: string }> {
  const source = [
    "import primes from '../../jobs/primes.js';",
    "import { createClient, type JobTypes } from '../../src/client/index.js';",
    "const client = createClient<JobTypes<[typeof primes]>>({ url: 'http://127.0.0.1:3000' });",
    `export const submitted = client.submit('primes', ${input});`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'use.ts'), source);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['use.ts'] }));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [TSC, '--noEmit', '--pretty', 'false', '-p', join(dir, 'tsconfig.json')], { cwd: ROOT });
    return { code: 0, output: stdout, source };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}`, source };
  }
}

/** The source text each `use.ts(line,col): error` points at, with its message. */
function errorsAt(output: string, source: string): Array<{ at: string; message: string }> {
  const lines = source.split('\n');
  return [...output.matchAll(/use\.ts\((\d+),(\d+)\): error (TS\d+: .*)/g)].map((m) => ({
    at: (lines[Number(m[1]) - 1] ?? '').slice(Number(m[2]) - 1),
    message: m[3] as string,
  }));
}

describe('the typed client under tsc', () => {
  it('a wrong input fails tsc with errors at the bad properties; the fixed input compiles', async () => {
    const bad = await compile("{ from: 0, to: 'ten' }");
    expect(bad.code, bad.output).not.toBe(0);
    const [wrongType] = errorsAt(bad.output, bad.source);
    expect(wrongType?.at, bad.output).toMatch(/^to: 'ten'/);
    expect(wrongType?.message).toMatch(/Type 'string' is not assignable to type 'number'/);

    const unknown = await compile('{ from: 0, to: 10, step: 2 }');
    expect(unknown.code, unknown.output).not.toBe(0);
    expect(unknown.output).toMatch(/'step' does not exist in type '\{ from: number; to: number; chunk\?: number \| undefined; \}'/);

    const fixed = await compile('{ from: 0, to: 10 }');
    expect(fixed.output).toBe('');
    expect(fixed.code).toBe(0);
  }, 120_000);
});

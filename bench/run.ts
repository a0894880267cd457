// `npm run bench -- <suite> [--json] [suite options]`: runs one benchmark suite from bench/<suite>.ts.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopEverything } from './harness.js';
import type { BenchSuite } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Files here that are not suites. */
const HELPERS = ['run.ts', 'report.ts', 'harness.ts', 'redis-cost.ts'];
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !HELPERS.includes(f) && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3))
  .sort();

const [suite, ...rest] = process.argv.slice(2);
if (suite === undefined || !suites.includes(suite)) {
  console.error(`usage: npm run bench -- <suite> [--json]\nsuites: ${suites.join(', ')}${suite ? `\nunknown suite "${suite}"` : ''}`);
  process.exit(2);
}
// Interrupted (Ctrl-C, SIGTERM): stop the Redis servers and processes the suite started before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping what the bench started`);
    void stopEverything().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
// Output piped into a reader that stopped (`| head`): stop the same way rather than crash on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  void stopEverything().finally(() => process.exit(0));
});
const mod = (await import(join(here, `${suite}.ts`))) as { default: BenchSuite };
const json = rest.includes('--json');
const figures = await mod.default(rest.filter((a) => a !== '--json'));
if (json) console.log(JSON.stringify(figures));
process.exit(0);

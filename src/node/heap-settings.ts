// V8 heap settings every ringpool process applies first thing (bin/ringpool.mjs): the same work in less memory (docs/performance.md, `scale`).
import { setFlagsFromString } from 'node:v8';

/**
 * Two settings V8 reads while it runs, so a process can set them on itself (the heap's sizes,
 * `--max-old-space-size` and `--max-semi-space-size`, only count on Node's command line):
 *
 * - `--heap-growing-percent=20`: after a full collection the old generation may grow by 20 % of
 *   what survived before the next one, where V8 lets it grow up to 4× in a process with room. A
 *   ringpool process's live set stays small (docs/performance.md, "What bounds each figure") and
 *   its garbage is promoted queue entries and results, so the old generation grew to 3–4× the
 *   live set on a 1M-task job. No limit: a process that needs more still gets it.
 * - `--semi-space-growth-factor=1`: the young generation stays at its starting size (1 MB per
 *   semi-space) instead of doubling up to 16 MB per semi-space, which the module loading alone
 *   reached, ~30 MB resident in every process.
 *
 * Measured with `npm run bench -- scale` and the throughput A/B in docs/performance.md.
 */
export const HEAP_SETTINGS: readonly string[] = ['--heap-growing-percent=20', '--semi-space-growth-factor=1'];

/**
 * Applies HEAP_SETTINGS, except a setting named on the process's command line (`node
 * --heap-growing-percent=50 bin/ringpool.mjs …`): that one is the operator's. Returns what it set.
 * V8's flags are the process's: the worker threads' heaps follow them too (their sizes come from
 * `resourceLimits`).
 */
export function applyHeapSettings(execArgv: readonly string[] = process.execArgv): string[] {
  const named = new Set(execArgv.map((arg) => arg.split('=')[0]?.replaceAll('_', '-')));
  const applied = HEAP_SETTINGS.filter((setting) => !named.has(setting.split('=')[0]));
  for (const setting of applied) setFlagsFromString(setting);
  return applied;
}

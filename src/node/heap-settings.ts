// The V8 heap setting every ringpool process applies first thing (bin/ringpool.mjs): the same work in less memory (docs/performance.md, `scale`).
import { setFlagsFromString } from 'node:v8';

/**
 * `--heap-growing-percent=20`: after a full collection the old generation may grow by 20 % of what
 * survived before the next one, where V8 otherwise lets it grow up to 4× in a process with room.
 * A ringpool process's live set stays small (docs/performance.md, "What bounds each figure") and
 * its garbage is promoted queue entries, results and split tasks, so on a 1M-task job the old
 * generation grew to 3–4× the live set. It is no limit: a process that needs more still gets it.
 *
 * V8 reads it as it runs, so a process can set it on itself. The heap's sizes cannot be (
 * `--max-old-space-size`, `--max-semi-space-size` count only on Node's command line), and
 * `--semi-space-growth-factor=1`, tried to keep the young generation small, is put back to 2 by V8
 * whenever an isolate is created, that is at every worker thread's start.
 */
export const HEAP_SETTINGS: readonly string[] = ['--heap-growing-percent=20'];

/**
 * Applies HEAP_SETTINGS, except a setting named on the process's command line (`node
 * --heap-growing-percent=50 bin/ringpool.mjs …`): that one is the operator's. Returns what it set.
 * V8's flags are the process's: the worker threads' heaps follow them too.
 */
export function applyHeapSettings(execArgv: readonly string[] = process.execArgv): string[] {
  const named = new Set(execArgv.map((arg) => arg.split('=')[0]?.replaceAll('_', '-')));
  const applied = HEAP_SETTINGS.filter((setting) => !named.has(setting.split('=')[0]));
  for (const setting of applied) setFlagsFromString(setting);
  return applied;
}

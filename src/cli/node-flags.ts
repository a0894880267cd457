// The Node options ringpool's launchers start its processes with: a small young generation.
import { v8HeapOptions } from '../registry/import-module.js';

/**
 * Node options for a ringpool process (`node <these> bin/ringpool.mjs <role> …`). V8 grows the main
 * thread's young generation to 2 × 16 MB semi-spaces while the modules load and keeps it: ~30 MB of
 * every process's resident memory. Capped at 2 MB a semi-space, the largest process of the `scale`
 * bench drops by ~40 MB at no measured CPU cost per job (docs/performance.md, "Scale"). V8 reads the
 * size only from Node's command line (set at run time it does nothing), so it is the launchers that
 * pass it: the cluster launcher, the local autoscaler, the container image's entry point.
 */
export const DEFAULT_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=2']);

/**
 * The Node options for a ringpool process this one starts: the V8 heap options this process was
 * itself started with, if any (an operator's choice, `node --max-semi-space-size=16 bin/ringpool.mjs
 * cluster up`, passed on to the whole cluster), else DEFAULT_NODE_FLAGS.
 */
export function nodeFlagsForChildren(execArgv: readonly string[] = process.execArgv): string[] {
  const own = v8HeapOptions(execArgv);
  return own.length > 0 ? own : [...DEFAULT_NODE_FLAGS];
}

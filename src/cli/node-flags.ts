// The Node options a ringpool launcher starts its processes with: its own V8 heap options.
import { v8HeapOptions } from '../registry/import-module.js';

/**
 * The Node options for a ringpool process this one starts (`cluster up` and its supervisor, the
 * local autoscaler of `start --workers`): the V8 heap options this process was itself started with
 * (`node --max-semi-space-size=4 --heap-growing-percent=100 bin/ringpool.mjs cluster up`), so one
 * command line sizes the heaps of the whole cluster. V8 reads them only from Node's command line
 * (`--heap-growing-percent` is refused in NODE_OPTIONS); what they cost and save:
 * docs/operations.md, "V8's heap". None by default: smaller heaps cost CPU per job.
 */
export function nodeFlagsForChildren(execArgv: readonly string[] = process.execArgv): string[] {
  return v8HeapOptions(execArgv);
}

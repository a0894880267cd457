// Baseline worker for the speedup bench (raw piscina, BullMQ's sandbox, the serial loop): runs one `primes` task per call, the job module loaded through tsx's ESM hook (`--module-loader ringpool`: primes-thread.cjs).
import { register } from 'tsx/esm/api';

register();
const { default: primes } = await import('../../jobs/primes.ts');
const ctx = { signal: new AbortController().signal, jobId: 'bench', taskIndex: 0, attempt: 0, progress() {} };

/** piscina calls it with the task; BullMQ's sandbox with a job whose data is the task. */
export default async function run(arg) {
  return primes.run(arg && arg.data !== undefined && arg.opts !== undefined ? arg.data : arg, ctx);
}

// The check a deployed module passes before it is stored: loaded in a thread of its own, its export a job, its input schema JSON Schema.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RingpoolError, type SerializedError } from '../errors.js';
import { BUNDLE_SUFFIX } from './deployed-loader.js';
import { threadExecArgv } from './import-module.js';
import { missingJobParts } from './job-registry.js';

/** What the check learns of a module, and what its versions show. */
export interface DeployedJobInfo {
  readonly name: string;
  readonly description: string;
  readonly resultType: string;
  readonly inputSchema: unknown;
}

/** A job type's name, as defineJob requires it: safe in a URL, a Redis key and a file name. */
export const JOB_TYPE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface CheckOptions {
  /** Where the module file is written for the thread to load (ringpool's module folder: see deployed-modules.ts). */
  readonly dir: string;
  /** The longest the module may take to load and be checked, ms. @default 10000 */
  readonly timeoutMs?: number;
  /** The check thread's heap limit, MB. @default 256 */
  readonly heapMb?: number;
}

const ENTRY = fileURLToPath(new URL('./deploy-check-entry.cjs', import.meta.url));

/**
 * Loads `code` (a bundle from bundleJobModule) in a new thread with a heap limit and a time limit,
 * so a module that throws, loops or allocates without end harms no request; BAD_INPUT says why.
 */
export async function checkJobModule(code: string, options: CheckOptions): Promise<DeployedJobInfo> {
  mkdirSync(options.dir, { recursive: true });
  const file = join(options.dir, `check-${randomBytes(6).toString('hex')}${BUNDLE_SUFFIX}`);
  writeFileSync(file, code);
  try {
    return await inThread(file, options);
  } finally {
    rmSync(file, { force: true });
  }
}

function inThread(file: string, options: CheckOptions): Promise<DeployedJobInfo> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const worker = new Worker(ENTRY, { workerData: { file }, execArgv: threadExecArgv(), resourceLimits: { maxOldGenerationSizeMb: options.heapMb ?? 256 }, stdout: true, stderr: true });
  return new Promise<DeployedJobInfo>((resolve, reject) => {
    const timer = setTimeout(() => finish(new RingpoolError('BAD_INPUT', `the module did not finish loading within ${timeoutMs} ms; a module must not do work when it is imported`)), timeoutMs);
    const finish = (outcome: DeployedJobInfo | Error) => {
      clearTimeout(timer);
      void worker.terminate();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    worker.once('message', (m: { ok: true; info: DeployedJobInfo } | { ok: false; error: SerializedError }) => {
      finish(m.ok ? m.info : new RingpoolError('BAD_INPUT', m.error.code === 'BAD_INPUT' ? m.error.message : `importing the module threw: ${m.error.message}`));
    });
    worker.once('error', (err) => finish(new RingpoolError('BAD_INPUT', `importing the module threw: ${err.message}`)));
    worker.once('exit', (exitCode) => finish(new RingpoolError('BAD_INPUT', `the module's check ended (exit ${exitCode}) before it answered: it ran out of memory or exited`)));
  });
}

/**
 * What a module's default export must be to be a job, and its description; throws BAD_INPUT
 * naming what is missing. `toJsonSchema` turns the input schema into JSON Schema (and throws
 * for one that has none, e.g. a transform or a function).
 */
export function describeJobExport(exported: unknown, toJsonSchema: (schema: unknown) => unknown): DeployedJobInfo {
  const job = exported as Record<string, unknown> | null | undefined;
  if (job === undefined || job === null || typeof job !== 'object') {
    throw new RingpoolError('BAD_INPUT', 'the module has no default export: it must `export default defineJob({ name, input, split, run, reduce })`');
  }
  const missing = missingJobParts(job);
  if (missing.length > 0) throw new RingpoolError('BAD_INPUT', `the default export is not a job: it lacks ${missing.join(', ')}; use defineJob({ name, input, split, run, reduce })`);
  const name = job.name as string;
  if (!JOB_TYPE_NAME.test(name)) throw new RingpoolError('BAD_INPUT', `job name ${JSON.stringify(name.slice(0, 80))} must be lower-case letters, digits and dashes starting with a letter (at most 63)`);
  let inputSchema: unknown;
  try {
    inputSchema = toJsonSchema(job.input);
  } catch (err) {
    throw new RingpoolError('BAD_INPUT', `the input schema of ${name} cannot be represented as JSON Schema (${(err as Error).message}); use plain zod types without transforms`);
  }
  return {
    name,
    description: typeof job.description === 'string' ? job.description : '',
    resultType: typeof job.resultType === 'string' ? job.resultType : 'json',
    inputSchema,
  };
}

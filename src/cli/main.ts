// The `ringpool` command line: argv → config → compose → run; signals and graceful shutdown.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigSchema, LIST_FIELDS, flagName, jobDirs, loadConfig, maskedConfig, redisDataDir, type Config } from '../config/config.js';
import { loadJobRegistry } from '../registry/job-registry.js';
import { createClient, RingpoolApiError, RingpoolNetworkError, type JobError, type JobHandle, type JobStatus, type RingpoolClient } from '../client/index.js';
import { RingpoolError } from '../errors.js';
import { startNode, type Roles } from '../node/node.js';
import { typeScriptRequire } from '../registry/import-module.js';
import { stopTsxCompiler } from '../registry/tsx-compiler.js';
import { assertRedisServerAvailable } from '../store/local-redis.js';
import { workerRange } from '../autoscale/worker-range.js';
import type { LocalRedisPair } from './local-cluster.js';
import { inputFromFlag, jobOptionsFromFlags } from './job-option-flags.js';
import { createLogger } from './logger.js';
import { ProgressBar } from './progress-bar.js';

const USAGE = `ringpool — a Raft-scheduled worker pool for parallel batch jobs

usage:
  ringpool start [--port 3000] [--redis URL] [--data-dir DIR] [--jobs DIR] [--threads N]
      every role in one process; without --redis it runs its own Redis master + replica
      --workers auto|MIN..MAX|N [--max-workers N] [--target-drain-ms 10000] [--scale-down-idle-ms 30000]
      worker nodes as processes of their own, started and drained with the backlog (auto: 0 to the cores)
  ringpool worker --redis URL [--id w1] [--threads N]             a worker node
  ringpool api --redis URL [--port N]                             the HTTP API and dashboard
  ringpool scheduler --redis URL [--id s1 --peers s1=URL,s2=URL,s3=URL --data-dir DIR]
  ringpool cluster up|down|status [--dir DIR] [--workers N|auto|MIN..MAX]   a whole cluster on this host, as separate processes
  ringpool config [flags]        the effective configuration (flags > env > --config FILE > defaults), secrets masked
  ringpool submit <job> --input JSON|@file [--option key=value]... [--options JSON] [--wait] [--out FILE] [--url URL]
      job options (retries, taskTimeoutMs, taskMemoryMb, batchSize, resultTtlSec) over the module's defaults
  ringpool status <id> [--url URL]
  ringpool jobs [--status S] [--job NAME] [--limit N] [--url URL]
  ringpool logs <id> [--task N] [--limit N] [--url URL]   what the job's split, tasks and reduce wrote with log
  ringpool deploy FILE [--url URL]        deploy a job module (its relative imports bundled) as a new version (admin)
  ringpool versions NAME [--url URL]      a deployed job type's versions; * marks the active one
  ringpool activate NAME VERSION [--url URL]   make a version active: a rollback (admin)
  ringpool schedule add <job> --cron EXPR [--timezone TZ] [--missed skip|run-once] --input JSON|@file [--option key=value]... [--url URL]
  ringpool schedule list | pause <id> | resume <id> | delete <id> [--url URL]
      run a job on a cron schedule (six fields: seconds first), each tick once across scheduler failovers

Environment: RINGPOOL_REDIS_URL, RINGPOOL_PORT, RINGPOOL_DATA_DIR, RINGPOOL_JOBS, RINGPOOL_THREADS,
RINGPOOL_API_TOKENS, RINGPOOL_URL (client commands), RINGPOOL_TOKEN (client commands).`;

/** One flag per config field (`--redis`, `--data-dir`, …); list fields may repeat or take commas. */
const NODE_FLAGS = {
  ...Object.fromEntries(Object.keys(ConfigSchema.shape).map((field) => [flagName(field).slice(2), { type: 'string', multiple: LIST_FIELDS.has(field) }])),
  config: { type: 'string', multiple: false },
} as Record<string, { type: 'string'; multiple: boolean }>;

const CLIENT_FLAGS = {
  url: { type: 'string' },
  token: { type: 'string' },
  input: { type: 'string' },
  option: { type: 'string', multiple: true },
  options: { type: 'string' },
  wait: { type: 'boolean' },
  out: { type: 'string' },
  status: { type: 'string' },
  job: { type: 'string' },
  limit: { type: 'string' },
  task: { type: 'string' },
} as const;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await runNode(rest, { api: true, scheduler: true, worker: true }, true);
      case 'worker':
        // `--standby` (the local autoscaler's spare): loaded, parked until called (docs/operations.md "Autoscaling").
        // A spare sent away holds only what it loaded and the IPC channel, which would keep it alive: it ends here.
        if (rest.includes('--standby') && !(await parkUntilCalled(rest.filter((a) => a !== '--standby')))) process.exit(0);
        // For a worker, --id names the worker node (as --id names the scheduler of `ringpool scheduler`).
        return await runNode(rest.filter((a) => a !== '--standby').map((a) => (a === '--id' ? '--worker-id' : a.startsWith('--id=') ? `--worker-id=${a.slice(5)}` : a)), { api: false, scheduler: false, worker: true }, false);
      case 'api':
        return await runNode(rest, { api: true, scheduler: false, worker: false }, false);
      case 'scheduler':
        return await runNode(rest, { api: false, scheduler: true, worker: false }, false);
      case 'cluster':
        return await (await commandModule<typeof import('./cluster.js')>('./cluster.js')).runClusterCommand(rest);
      case 'config':
        console.log(JSON.stringify(maskedConfig(nodeConfig(rest)), null, 2));
        return 0;
      case 'submit':
        return await submit(rest);
      case 'status':
        return await status(rest);
      case 'jobs':
        return await listJobs(rest);
      case 'logs':
        return await jobLogs(rest);
      case 'schedule':
        return await (await commandModule<typeof import('./schedule.js')>('./schedule.js')).runScheduleCommand(rest, client);
      case 'deploy':
      case 'versions':
      case 'activate':
        return await deployments(command, rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    console.error(`ringpool ${command}: ${clientErrorMessage(err)}`);
    return exitCodeOf(err);
  }
}

/** Exit code of a command that ended on a usage or configuration error (an option, a flag, a setting). */
export const CONFIG_EXIT_CODE = 2;

/**
 * The one map from an error that ended a command to its exit code: CONFIG_EXIT_CODE for a
 * configuration error (code CONFIG, wherever it was thrown: config, an option check, a job
 * folder) and for a command line `parseArgs` refused (an unknown flag, a missing value, a stray
 * argument: usage errors, as an unknown command is), 1 for anything else, an API's answer
 * included (its code is the server's). By code, not by class: an error may have crossed a thread.
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof RingpoolApiError) return 1; // the API's code (its own CONFIG included) is the server's, not this command line's
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return code === 'CONFIG' || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) ? CONFIG_EXIT_CODE : 1;
}

function nodeConfig(args: string[]): Config {
  const { values } = parseArgs({ args, options: NODE_FLAGS, strict: true, allowPositionals: false });
  const flags: Record<string, unknown> = {};
  for (const field of Object.keys(ConfigSchema.shape)) {
    const value = values[flagName(field).slice(2)];
    if (value === undefined) continue;
    flags[field] = Array.isArray(value) ? value.flatMap((v) => String(v).split(',')).filter(Boolean) : value;
  }
  return loadConfig(flags, process.env, values.config as string | undefined);
}

/** Exit code of a process that gave up on its Redis connections (EX_TEMPFAIL: try again, i.e. restart it). */
export const STUCK_EXIT_CODE = 75;

/**
 * A standby worker process (started by the local autoscaler with an IPC channel) waits here with
 * the worker's code loaded, neither registered nor running threads: it says `ready`, and becomes a
 * worker node on `go` (true); it exits (false) when its parent goes away or on SIGTERM/SIGINT. A
 * called worker keeps the channel only to drain (SIGTERM itself) should `start` disappear.
 */
async function parkUntilCalled(args: string[]): Promise<boolean> {
  const started = Date.now();
  // Loaded as roleModule in node.ts loads it: through tsx's CommonJS hook when running from source.
  const require = typeScriptRequire(import.meta.url);
  if (require !== undefined) require('../worker/worker-node.js');
  else await import('../worker/worker-node.js');
  // The job modules too (compiled once, cached): the node's own load of them is then quick.
  await loadJobRegistry(jobDirs(nodeConfig(args.map((a) => (a === '--id' ? '--worker-id' : a)))));
  console.log(`ringpool worker standby: loaded in ${Date.now() - started} ms, parked until called`);
  if (process.send === undefined) return true; // no parent to wait for
  const called = await new Promise<boolean>((resolve) => {
    process.on('message', (m) => m === 'go' && resolve(true));
    process.once('disconnect', () => resolve(false));
    process.once('SIGTERM', () => resolve(false));
    process.once('SIGINT', () => resolve(false));
    process.send?.('ready');
  });
  if (called) {
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    process.channel?.unref();
  }
  return called;
}

async function runNode(args: string[], requested: Roles, allowLocalRedis: boolean): Promise<number> {
  const config = nodeConfig(args);
  // `start --workers …`: the worker nodes are processes of their own, started by the autoscaler.
  const roles: Roles = requested.worker && requested.api && config.workers !== undefined ? { ...requested, worker: false } : requested;
  // A range such as 4..1 is refused now, not once Redis has been started (or waited for).
  workerRange(config);
  const logger = createLogger(config.logLevel);
  // Stop signals are taken from the start: one that comes while the node starts is acted on once
  // it has started (or failed), where Node's default would end the process at once, leaving the
  // local Redis pair running.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  let local: LocalRedisPair | undefined;
  let redisUrl = config.redisUrl;
  if (redisUrl === undefined && config.sentinels.length === 0) {
    if (!allowLocalRedis) throw new RingpoolError('CONFIG', 'give --redis URL or --sentinels host:port,… (or RINGPOOL_REDIS_URL / RINGPOOL_SENTINELS)');
    assertRedisServerAvailable();
    local = await (await commandModule<typeof import('./local-cluster.js')>('./local-cluster.js')).startLocalRedisPair(redisDataDir(config));
    redisUrl = local.masterUrl;
    logger.info({ master: local.masterUrl, replica: local.replicaUrl }, 'started local Redis master + replica');
  }
  // Durable by default wherever a replica is known to exist: the local pair, or a Sentinel setup.
  const minReplicas = config.minReplicas ?? (local || config.sentinels.length > 0 ? 1 : 0);
  let node;
  try {
    node = await startNode({ ...config, ...(redisUrl === undefined ? {} : { redisUrl }), minReplicas }, roles, logger, {
      // Its connections could not repair themselves: exit to be restarted (by systemd, Kubernetes,
      // `ringpool cluster up`), after stopping the local Redis pair if this process runs one.
      onStuck: (reason) => {
        console.error(`ringpool: stuck, exiting to be restarted: ${reason}`);
        setTimeout(() => process.exit(STUCK_EXIT_CODE), 5_000).unref();
        void (local?.stop() ?? Promise.resolve()).finally(() => process.exit(STUCK_EXIT_CODE));
      },
    });
  } catch (err) {
    await local?.stop();
    throw err;
  }
  if (roles.api) {
    const types = node.registry.list().map((j) => j.name).join(', ');
    console.log(`ringpool is running at ${node.url}  (job types: ${types})`);
    console.log(`try:\n  curl -s -X POST ${node.url}/v1/jobs -H 'content-type: application/json' -d '{"job":"primes","input":{"from":0,"to":2000000}}'`);
  } else {
    const what = [roles.scheduler ? `scheduler ${config.schedulerId}` : '', roles.worker ? `worker ${config.workerId}` : ''].filter(Boolean).join(' + ');
    console.log(`ringpool ${what} serving /healthz${roles.scheduler ? ', /raft' : ''} at ${node.url}`);
  }
  const autoscaler = roles.worker === requested.worker ? undefined : (await commandModule<typeof import('./cluster/auto-workers.js')>('./cluster/auto-workers.js')).startAutoWorkers({ config, redisUrl, minReplicas, apiUrl: node.url, logger, metrics: node.metrics });
  // Started: tsx's compiler, if this start needed it, is stopped (registry/tsx-compiler.ts).
  stopTsxCompiler();
  const signal = await stopSignal;
  logger.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, 'shutting down');
  // Shutdown drains (a worker finishes its tasks in flight) but never past the drain limit, and a
  // second signal ends it at once: a process stuck on a Redis that does not answer still ends.
  const forceExit = (why: string) => {
    logger.error(why);
    process.exit(1);
  };
  setTimeout(() => forceExit(`shutdown did not finish within ${config.drainTimeoutMs} ms (--drain-timeout-ms); exiting`), config.drainTimeoutMs).unref();
  for (const again of ['SIGINT', 'SIGTERM'] as const) process.once(again, () => forceExit(`${again} while shutting down: exiting now`));
  try {
    await autoscaler?.close();
    await node.close();
    await local?.stop();
  } finally {
    // Everything is closed or given up on: a part that still holds the event loop (a Redis
    // that never answered) must not keep the process from exiting.
    setTimeout(() => {
      logger.warn('a connection still held the process open after shutdown; exiting');
      process.exit(process.exitCode ?? 0);
    }, 2_000).unref();
  }
  return 0;
}

// ---- client commands: through ringpool/client (src/client) ----------------------------------

/** How long a client command keeps asking again a request the API answered 429 or 503 (which ones: src/client/http.ts). */
const RETRY_BUDGET_MS = 30_000;

function client(values: { url?: string | undefined; token?: string | undefined }): RingpoolClient {
  const token = values.token ?? process.env.RINGPOOL_TOKEN;
  return createClient({
    url: values.url ?? process.env.RINGPOOL_URL ?? `http://127.0.0.1:${process.env.RINGPOOL_PORT ?? 3000}`,
    token: token === '' ? undefined : token,
    retry: {
      budgetMs: RETRY_BUDGET_MS,
      onRetry: ({ error, delayMs }) => console.error(`ringpool answered ${error.status} (${error.message}); asking again in ${delayMs / 1000} s`),
    },
  });
}

/** What a client command's error says: the API's with its HTTP status first, an unreachable API with what to check. */
function clientErrorMessage(err: unknown): string {
  if (err instanceof RingpoolApiError) return `${err.status}: ${err.message}`;
  if (err instanceof RingpoolNetworkError) return `${err.message}; is it running? set --url or RINGPOOL_URL`;
  return err instanceof Error ? err.message : String(err);
}

async function submit(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CLIENT_FLAGS, strict: true, allowPositionals: true });
  const job = positionals[0];
  if (job === undefined) throw new RingpoolError('CONFIG', 'name the job type: ringpool submit <job> --input JSON');
  const input = inputFromFlag(values.input);
  const handle = await client(values).submit(job, input, jobOptionsFromFlags(values.options, values.option));
  if (!values.wait) {
    console.log(handle.id);
    return 0;
  }
  const end = await followProgress(handle, job);
  if (end.status !== 'completed') {
    console.error(`job ${handle.id} ${end.status}${end.error ? `: [${end.error.code}] ${end.error.message}` : ''}`);
    if (end.error?.stack) console.error(end.error.stack);
    return 1;
  }
  await warnIfPartial(values, handle.id);
  const result = await handle.result();
  if (result instanceof Uint8Array) {
    const file = values.out ?? `${handle.id}.png`;
    writeFileSync(file, result);
    console.log(`wrote ${file}`);
    return 0;
  }
  console.log(JSON.stringify(result, null, 2));
  return 0;
}

/** A job that completed with tolerated task failures (partial) says so on stderr, with the failed tasks, before its result. */
async function warnIfPartial(values: Parameters<typeof client>[0], id: string): Promise<void> {
  const job = await client(values).jobs.get(id);
  if (!job.partial) return;
  const failed = job.taskErrors.map((e) => `task ${e.taskIndex}: [${e.code}] ${e.message}`);
  console.error(`job ${id} completed partially: ${failed.length} of ${job.progress.total ?? '?'} tasks failed (within maxFailedTasks/maxFailedRatio)\n  ${failed.join('\n  ')}`);
}

/** Draws the job's progress from its event stream until its end: how it ended, and the last error it showed. */
async function followProgress(handle: JobHandle, job: string): Promise<{ status: string; error: JobError | null }> {
  const bar = new ProgressBar();
  let error: JobError | null = null;
  try {
    for await (const e of handle.events()) {
      if (e.event === 'end') return { status: e.data.status, error };
      bar.update(e.data.progress.done, e.data.progress.total, `${job} ${handle.id} ${e.data.status}`);
      error = e.data.error;
    }
  } finally {
    bar.finish();
  }
  throw new Error(`the event stream of job ${handle.id} ended without its end`); // events() ends only after `end`
}

async function deployments(command: 'deploy' | 'versions' | 'activate', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { url: CLIENT_FLAGS.url, token: CLIENT_FLAGS.token }, strict: true, allowPositionals: true });
  const api = client(values);
  const { activateVersion, deployFile, listVersions } = await commandModule<typeof import('./deploy.js')>('./deploy.js');
  if (command === 'deploy') return await deployFile(api, positionals[0]);
  if (command === 'versions') return await listVersions(api, positionals[0]);
  return await activateVersion(api, positionals[0], positionals[1]);
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CLIENT_FLAGS, strict: true, allowPositionals: true });
  if (positionals[0] === undefined) throw new RingpoolError('CONFIG', 'give a job id: ringpool status <id>');
  console.log(JSON.stringify(await client(values).jobs.get(positionals[0]), null, 2));
  return 0;
}

async function jobLogs(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CLIENT_FLAGS, strict: true, allowPositionals: true });
  if (positionals[0] === undefined) throw new RingpoolError('CONFIG', 'give a job id: ringpool logs <id> [--task N] [--limit N]');
  const whole = (flag: string, value: string | undefined, min: number, max: number) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!(Number.isInteger(n) && n >= min && n <= max)) throw new RingpoolError('CONFIG', `--${flag} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
    return n;
  };
  const { lines } = await client(values).job(positionals[0]).logs({ limit: whole('limit', values.limit, 1, 1000), task: whole('task', values.task, 0, Number.MAX_SAFE_INTEGER) });
  for (const l of lines) {
    const who = l.task === null ? l.phase : `task ${l.task}${l.attempt > 0 ? ` (attempt ${l.attempt + 1})` : ''}`;
    console.log(`${new Date(l.at).toISOString()}  ${who}  ${l.node}  ${l.message}`);
  }
  return 0;
}

async function listJobs(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: CLIENT_FLAGS, strict: true, allowPositionals: false });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 500)) {
    throw new RingpoolError('CONFIG', `--limit must be an integer in [1, 500], got ${JSON.stringify(values.limit)}`);
  }
  const page = await client(values).jobs.page({ status: values.status as JobStatus | undefined, job: values.job, limit });
  for (const j of page.jobs) {
    console.log(`${j.id}  ${j.job.padEnd(12)} ${j.status.padEnd(10)} ${j.progress.done}/${j.progress.total ?? '?'}  ${new Date(j.createdAt).toISOString()}`);
  }
  return 0;
}

/**
 * A command's own module, loaded only by the command that uses it: `ringpool api`, `scheduler` and
 * `worker` do not hold the cluster launcher, the autoscaler or the deploy and schedule commands
 * (docs/performance.md, `scale`). Required through tsx's CommonJS hook where ringpool's entry
 * loaded this code so (registry/import-module.ts), imported else.
 */
function commandModule<T>(specifier: string): Promise<T> {
  const require = typeScriptRequire(import.meta.url);
  return require !== undefined ? Promise.resolve(require(specifier) as T) : (import(specifier) as Promise<T>);
}

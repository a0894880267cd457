// Loads the Lua scripts (each one atomic Redis change) and maps their error replies to typed errors.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { RingpoolError, isErrorCode } from '../errors.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scripts');
const prelude = readFileSync(join(dir, '_fence.lua'), 'utf8');

/** Script name → number of KEYS. Every script is loaded with the fencing prelude. */
const SCRIPTS = {
  'create-job': 9,
  'append-logs': 2,
  'start-job': 3,
  'record-split': 3,
  'store-results': 10,
  'fail-task': 6,
  'cancel-job': 3,
  'complete-job': 7,
  'fail-job': 3,
  'retry-job': 6,
  'quota-admit': 1,
  'quota-release': 2,
  'deploy-job-type': 5,
  'activate-job-type': 3,
  'delete-job-type-version': 5,
  'webhook-attempt': 3,
  'schedule-put': 2,
  'schedule-pause': 1,
  'schedule-delete': 3,
  'schedule-record-tick': 3,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** A script's ARGV: text, numbers, or bytes (an image result). */
export type ScriptArgs = ReadonlyArray<string | number | Buffer>;

/**
 * A client with our scripts defined as commands, called through `runScript`. Idempotent: each
 * facade over a connection may call it (ioredis runs them by EVALSHA, falling back to EVAL after a
 * Redis restart or failover).
 */
export function defineScripts(redis: Redis): void {
  const commands = redis as unknown as Record<string, unknown>;
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS)) {
    const command = commandName(name as ScriptName);
    if (typeof commands[command] === 'function') continue;
    const lua = `${prelude}\n${readFileSync(join(dir, `${name}.lua`), 'utf8')}`;
    redis.defineCommand(command, { numberOfKeys, lua });
  }
}

export function commandName(name: ScriptName): string {
  return `rp_${name.replace(/-/g, '_')}`;
}

/** Runs a script; an error reply whose first word is one of our codes becomes that typed error. */
export async function runScript<T>(redis: Redis, name: ScriptName, keys: string[], args: ScriptArgs): Promise<T> {
  try {
    return await sendScript<T>(redis, name, keys, args);
  } catch (err) {
    throw toTypedError(err);
  }
}

/**
 * Sends a script and returns ioredis's own promise of its reply (errors not yet typed: see
 * `toTypedError`), settled as the reply is read, in reply order with the connection's other
 * commands; for a caller that must know which of two replies came first.
 */
export function sendScript<T>(redis: Redis, name: ScriptName, keys: string[], args: ScriptArgs): Promise<T> {
  const fn = (redis as unknown as Record<string, (...a: Array<string | number | Buffer>) => Promise<T>>)[commandName(name)];
  if (fn === undefined) return Promise.reject(new RingpoolError('INTERNAL', `script ${name} is not defined on this connection: call defineScripts first`));
  return fn.call(redis, ...keys, ...args);
}

export function toTypedError(err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  // What a master with `min-replicas-to-write` answers when too few replicas are connected.
  if (/^NOREPLICAS\b/.test(message)) return new RingpoolError('NOT_REPLICATED', message, { cause: err });
  const first = message.split(' ')[0];
  if (isErrorCode(first)) return new RingpoolError(first, message.slice(first.length + 1), { cause: err });
  return err;
}

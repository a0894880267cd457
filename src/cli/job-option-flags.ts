// `ringpool submit --input JSON --options JSON --option k=v …`: the input and job options a submission (or a schedule) carries, options checked as the API checks them.
import { readFileSync } from 'node:fs';
import type { JobOptions } from '../sdk/index.js';
import { JobOptionsSchema } from '../sdk/job-options.js';
import { RingpoolError } from '../errors.js';

/**
 * The job options given on the command line: `--options` (a JSON object) with each `--option
 * key=value` over it, later ones winning; undefined when neither flag is given. A value is read as
 * JSON where it is JSON (`3`, `true`, `false`), else as the string it is. Checked against the
 * schema the API checks submissions with, so a bad option fails here, naming the option, before
 * anything is submitted.
 */
export function jobOptionsFromFlags(options: string | undefined, option: readonly string[] | undefined): JobOptions | undefined {
  if (options === undefined && (option === undefined || option.length === 0)) return undefined;
  const merged: Record<string, unknown> = { ...(options === undefined ? {} : parseOptionsJson(options)) };
  for (const pair of option ?? []) {
    const [key, value] = parseOptionPair(pair);
    merged[key] = value;
  }
  const parsed = JobOptionsSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const unknown = issue?.code === 'unrecognized_keys' ? issue.keys : [];
  if (unknown.length > 0) {
    throw new RingpoolError('CONFIG', `unknown job option ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the job options are ${Object.keys(JobOptionsSchema.shape).join(', ')}`);
  }
  const problems = parsed.error.issues.map((i) => {
    const name = i.path.map(String).join('.');
    return `job option ${name}: ${i.message}, got ${JSON.stringify(merged[name])}`;
  });
  throw new RingpoolError('CONFIG', problems.join('; '));
}

function parseOptionsJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RingpoolError('CONFIG', `--options is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RingpoolError('CONFIG', `--options must be a JSON object of job options, e.g. '{"retries":5}', got ${text}`);
  }
  return value as Record<string, unknown>;
}

/** `key=value` → [key, value]; the value split at the first `=` only. */
function parseOptionPair(pair: string): [string, unknown] {
  const at = pair.indexOf('=');
  if (at <= 0) throw new RingpoolError('CONFIG', `--option takes key=value, e.g. --option retries=5, got ${JSON.stringify(pair)}`);
  return [pair.slice(0, at).trim(), optionValue(pair.slice(at + 1).trim())];
}

/** `5` → 5, `true`/`false` → booleans, any other JSON as JSON; what is not JSON stays a string. */
export function optionValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `--input JSON` or `--input @file`: the job's input; `{}` without the flag. */
export function inputFromFlag(raw: string | undefined): unknown {
  const value = raw ?? '{}';
  const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RingpoolError('CONFIG', `--input is not valid JSON: ${(err as Error).message}`);
  }
}

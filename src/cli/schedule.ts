// `ringpool schedule add|list|pause|resume|delete`: jobs run on a cron schedule, through ringpool/client.
import { parseArgs } from 'node:util';
import type { RingpoolClient, Schedule } from '../client/index.js';
import { RingpoolError } from '../errors.js';
import { inputFromFlag, jobOptionsFromFlags } from './job-option-flags.js';

const FLAGS = {
  url: { type: 'string' },
  token: { type: 'string' },
  cron: { type: 'string' },
  timezone: { type: 'string' },
  missed: { type: 'string' },
  paused: { type: 'boolean' },
  input: { type: 'string' },
  option: { type: 'string', multiple: true },
  options: { type: 'string' },
} as const;

const USAGE = 'ringpool schedule add <job> --cron EXPR [--timezone TZ] [--missed skip|run-once] [--paused] --input JSON | list | pause <id> | resume <id> | delete <id>';

/** Runs `ringpool schedule <action> …` with a client made from its --url and --token. */
export async function runScheduleCommand(args: string[], clientOf: (values: { url?: string | undefined; token?: string | undefined }) => RingpoolClient): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, options: FLAGS, strict: true, allowPositionals: true });
  const api = clientOf(values);
  switch (action) {
    case 'add':
      return await add(api, positionals[0], values);
    case 'list':
      for (const s of await api.schedules.list()) console.log(describe(s));
      return 0;
    case 'pause':
    case 'resume': {
      const s = await api.schedules[action](idOf(positionals[0], action));
      console.log(describe(s));
      return 0;
    }
    case 'delete':
      await api.schedules.remove(idOf(positionals[0], action));
      console.log(`deleted schedule ${positionals[0]}; the jobs it started stay`);
      return 0;
    default:
      throw new RingpoolError('CONFIG', `unknown schedule action ${JSON.stringify(action ?? '')}; usage: ${USAGE}`);
  }
}

async function add(api: RingpoolClient, job: string | undefined, values: { cron?: string; timezone?: string; missed?: string; paused?: boolean; input?: string; options?: string; option?: string[] }): Promise<number> {
  if (job === undefined) throw new RingpoolError('CONFIG', 'name the job type: ringpool schedule add <job> --cron EXPR --input JSON');
  if (values.cron === undefined) throw new RingpoolError('CONFIG', 'give the cron expression: --cron "0 2 * * *" (six fields: seconds first)');
  if (values.missed !== undefined && values.missed !== 'skip' && values.missed !== 'run-once') {
    throw new RingpoolError('CONFIG', `--missed must be skip or run-once, got ${JSON.stringify(values.missed)}`);
  }
  const options = jobOptionsFromFlags(values.options, values.option);
  const created = await api.schedules.create({
    job,
    input: inputFromFlag(values.input),
    cron: values.cron,
    ...(options === undefined ? {} : { options }),
    ...(values.timezone === undefined ? {} : { timezone: values.timezone }),
    ...(values.missed === undefined ? {} : { missed: values.missed }),
    ...(values.paused === true ? { paused: true } : {}),
  });
  console.log(created.id);
  return 0;
}

function idOf(id: string | undefined, action: string): string {
  if (id === undefined) throw new RingpoolError('CONFIG', `give a schedule id: ringpool schedule ${action} <id> (see ringpool schedule list)`);
  return id;
}

/** One line per schedule: id, job, cron and zone, state, next run, and the job its last tick started. */
function describe(s: Schedule): string {
  const next = s.nextRuns[0] === undefined ? '-' : new Date(s.nextRuns[0]).toISOString();
  const last = s.runs[0] === undefined ? '-' : s.runs[0].jobId;
  return `${s.id}  ${s.job.padEnd(12)} "${s.cron}" ${s.timezone}  ${s.paused ? 'paused ' : 'active '} next ${next}  last job ${last}`;
}

// A job record as the store reads it, for unit tests of the parts that take one (no Redis).
import { JOB_OPTION_DEFAULTS } from '../../src/sdk/job-options.js';
import type { JobRecord } from '../../src/store/job-record.js';

/** A running job of type `primes`, with task limits other than the defaults; `overrides` on top. */
export function jobRecord(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'job1',
    name: 'primes',
    status: 'running',
    input: { to: 100 },
    options: { ...JOB_OPTION_DEFAULTS, retries: 4, taskTimeoutMs: 1_500, taskMemoryMb: 96 },
    resultType: 'json',
    createdAt: 0,
    startedAt: 0,
    finishedAt: null,
    progress: { total: null, placed: 0, done: 0, failed: 0, duplicates: 0, dropped: 0 },
    error: null,
    timing: { splitDoneAt: null, lastResultAt: null, runMicros: 0, reducedOn: null },
    tasksPerNode: {},
    runMicrosPerNode: {},
    cachePerNode: {},
    retriedTasks: 0,
    stragglers: { stolenTasks: 0, speculatedTasks: 0, wastedMs: 0 },
    reruns: 0,
    version: null,
    scheduleId: null,
    scheduledFor: null,
    traceparent: null,
    tenant: 'default',
    partial: false,
    ...overrides,
  };
}

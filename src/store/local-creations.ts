// Jobs this process's API is creating, for this process's leader: the record each creation stores, so the leader woken by it need not wait to read it back.
import type { JobRecord } from './job-record.js';

/**
 * Why: the leader learns of a new job when create-job.lua pushes its wake notice, and used to read
 * the job back with start-job.lua (which adopts it, fenced) before splitting it: a round trip in
 * every job's path. Where the API and the leader share a process (`ringpool start`), the API notes
 * the record its creation stores (newJobRecord: the same fields, parsed as a read would) before the
 * creation leaves, and drops it once the creation answered. A leader woken for that job meanwhile
 * splits from this record while start-job.lua runs, and waits for it before the split writes
 * anything of its own (scheduler.ts, #split); only a short whole job's handed run starts before.
 */
export class LocalCreations {
  readonly #creating = new Map<string, JobRecord>();

  /** Before the creation is sent: the record it stores. */
  creating(record: JobRecord): void {
    this.#creating.set(record.id, record);
  }

  /** Once the creation answered, or failed. */
  settled(jobId: string): void {
    this.#creating.delete(jobId);
  }

  /** The record of a job being created here, for the leader its creation woke. */
  recordOf(jobId: string): JobRecord | undefined {
    return this.#creating.get(jobId);
  }
}

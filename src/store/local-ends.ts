// Jobs this process's worker ends by its own results' write, told to this process's API once the replicas confirmed the end.
/**
 * A job's end as the write that made it saw it, acknowledged by `WAIT` (docs/architecture.md §4):
 * what an answer needs without reading the job back. `json`: the result, when it is JSON.
 */
export interface AcknowledgedEnd {
  readonly status: 'completed';
  readonly json?: string;
}

/**
 * Why: a job whose only entry is the whole job (`TaskBatch.whole`) is ended by its worker's
 * results' write, which publishes the end before its `WAIT` returns. An API waiting for that job
 * in the same process (`ringpool start`) would then read the job and confirm the end with a
 * `WAIT` of its own: a round trip after the one the worker is already waiting for. Instead,
 * while such a write is out (`begin` … `settle`), the published end is held (`holdPublished`)
 * and the waiters get the acknowledged end from the writer. A write that did not end the job,
 * or failed, hands a held end back: the waiters read the job as they do for any other end.
 */
export class LocalEnds {
  /** Job id → whether its end was published while the write was out. */
  readonly #writing = new Map<string, { published: boolean }>();
  #listener: ((jobId: string, end: AcknowledgedEnd | undefined) => void) | undefined;

  /** The one listener (JobEvents): `end` acknowledged, or undefined for an end published and not acknowledged here. */
  listen(listener: (jobId: string, end: AcknowledgedEnd | undefined) => void): void {
    this.#listener = listener;
  }

  /** Before a write that may end the job. */
  begin(jobId: string): void {
    this.#writing.set(jobId, { published: false });
  }

  /** After it: the end it made, confirmed by the replicas, or undefined (it did not end the job, or it failed). */
  settle(jobId: string, end: AcknowledgedEnd | undefined): void {
    const writing = this.#writing.get(jobId);
    this.#writing.delete(jobId);
    if (end !== undefined) this.#listener?.(jobId, end);
    else if (writing?.published === true) this.#listener?.(jobId, undefined);
  }

  /** An end published for the job: true if it is held until the write here settles. */
  holdPublished(jobId: string): boolean {
    const writing = this.#writing.get(jobId);
    if (writing === undefined) return false;
    writing.published = true;
    return true;
  }
}

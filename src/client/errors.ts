// What the client throws: the API's error answer, a URL it could not reach, no answer in time, a job that failed.
import type { z } from 'zod';
import type { ErrorCodeSchema, JobErrorSchema } from '../api/wire.js';

/** The API's stable error codes (docs/architecture.md §8: `ErrorCode` in src/errors.ts, mirrored in src/api/wire.ts). */
export type ApiErrorCode = z.infer<typeof ErrorCodeSchema>;

/** A job's or a task's error as the API shows it. */
export type JobError = z.infer<typeof JobErrorSchema>;

/**
 * Base of every error the client throws itself (an aborted call rejects with the signal's reason
 * instead); thrown as is when what answered was not the ringpool API.
 */
export class RingpoolClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RingpoolClientError';
  }
}

/** The API answered with an error: its HTTP status, stable code, message (what to fix) and details. */
export class RingpoolApiError extends RingpoolClientError {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly details: unknown;
  /** `Retry-After` of a 429 or 503, in seconds; undefined when the answer had none. */
  readonly retryAfterSec: number | undefined;
  /** The request that got the answer, e.g. `POST http://127.0.0.1:3000/v1/jobs`. */
  readonly request: string;

  constructor(init: { status: number; code: ApiErrorCode; message: string; details?: unknown; retryAfterSec?: number | undefined; request: string }) {
    super(init.message);
    this.name = 'RingpoolApiError';
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.retryAfterSec = init.retryAfterSec;
    this.request = init.request;
  }
}

/** The URL could not be reached (refused, unknown host, connection cut), or an event stream broke off. */
export class RingpoolNetworkError extends RingpoolClientError {
  readonly url: string;

  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RingpoolNetworkError';
    this.url = url;
  }
}

/** A request had no answer within its timeout (`timeoutMs`, plus the server-side wait it asked for). */
export class RingpoolTimeoutError extends RingpoolClientError {
  readonly timeoutMs: number;

  constructor(request: string, timeoutMs: number) {
    super(`${request} had no answer within ${timeoutMs} ms; raise timeoutMs if the server is just slow`);
    this.name = 'RingpoolTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The job ended without a result: it failed (with its error) or was cancelled. */
export class RingpoolJobError extends RingpoolClientError {
  readonly jobId: string;
  readonly status: 'failed' | 'cancelled';
  /** The job's error: the code and message of the task (or reduce) that failed it; null when cancelled without one. */
  readonly error: JobError | null;

  constructor(jobId: string, status: 'failed' | 'cancelled', error: JobError | null) {
    super(`job ${jobId} ${status}${error === null ? '' : `: [${error.code}] ${error.message}`}`);
    this.name = 'RingpoolJobError';
    this.jobId = jobId;
    this.status = status;
    this.error = error;
  }
}

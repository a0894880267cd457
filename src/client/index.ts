// ringpool/client: the typed TypeScript client of the HTTP API (createClient, its types and errors).
export { createClient, type ClientOptions, type RingpoolClient, type SubmitCallOptions, type WaitOptions } from './client.js';
export { JobHandle, type ResultOptions } from './job-handle.js';
export type { CallOptions, RetryEvent, RetryOptions } from './http.js';
export { RingpoolApiError, RingpoolClientError, RingpoolJobError, RingpoolNetworkError, RingpoolTimeoutError, type ApiErrorCode, type JobError } from './errors.js';
export type {
  ActivateAnswer,
  CancelAnswer,
  ClusterView,
  DeleteScheduleAnswer,
  DeleteVersionAnswer,
  DeployAnswer,
  DrainAnswer,
  Job,
  JobDetail,
  JobEvent,
  JobInput,
  JobMap,
  JobName,
  JobPage,
  JobResult,
  JobStatus,
  JobTypeInfo,
  JobTypes,
  JobTypeVersions,
  ListQuery,
  NewSchedule,
  Schedule,
  UntypedJobs,
  WaitedJob,
} from './types.js';
export type { JobOptions } from '../sdk/index.js';

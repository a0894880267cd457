// createClient: the typed client of the HTTP API (submit, jobs, job types, schedules, cluster, drain) over one Http.
import type { JobOptions } from '../sdk/index.js';
import { Http, withQuery, type CallOptions, type HttpOptions } from './http.js';
import { checkWait, JobHandle } from './job-handle.js';
import type {
  ActivateAnswer,
  ClusterView,
  DeleteVersionAnswer,
  DeleteScheduleAnswer,
  DeployAnswer,
  DrainAnswer,
  Job,
  JobDetail,
  JobInput,
  JobMap,
  JobName,
  JobPage,
  JobResult,
  JobTypeInfo,
  JobTypeVersions,
  ListQuery,
  NewSchedule,
  Schedule,
  UntypedJobs,
  WaitedJob,
} from './types.js';

export type ClientOptions = HttpOptions;

/** What `submit` and `submitAndWait` take besides the call options. */
export interface SubmitCallOptions extends CallOptions {
  /**
   * Makes the submission idempotent (docs/tenants.md): a string is sent as the `Idempotency-Key`
   * as is (keep it to resend the same submission from another process); `true` generates one for
   * this call. Either way the call may then be resent on any transient failure (a lost connection,
   * a timeout, a 429 or 503) and still creates one job.
   */
  readonly idempotencyKey?: string | true | undefined;
}

export interface WaitOptions extends SubmitCallOptions {
  /** How long the server waits for the job's end before it answers, ms, 1–30000. */
  readonly waitMs: number;
}

export interface RingpoolClient<Jobs extends JobMap | UntypedJobs = UntypedJobs> {
  /** The API's base URL. */
  readonly url: string;
  /** Submits a job (`POST /v1/jobs`); the input is checked at compile time against its module's schema (typed client), and by the API. */
  submit<N extends JobName<Jobs>>(name: N, input: JobInput<Jobs, N>, options?: JobOptions, call?: SubmitCallOptions): Promise<JobHandle<JobResult<Jobs, N>>>;
  /** Submits a job and waits up to `waitMs` for its end in the same request (`POST /v1/jobs?wait=`). */
  submitAndWait<N extends JobName<Jobs>>(name: N, input: JobInput<Jobs, N>, options: JobOptions | undefined, wait: WaitOptions): Promise<WaitedJob<JobResult<Jobs, N>>>;
  /** The handle of a job submitted before, by its id. */
  job(id: string): JobHandle;
  readonly jobs: {
    get(id: string, call?: CallOptions): Promise<JobDetail>;
    /** Every job matching the query, newest first, over all pages (`limit` is the page size); stop whenever. */
    list(query?: ListQuery<JobName<Jobs>>, call?: CallOptions): AsyncGenerator<Job, void, undefined>;
    /** One page; `cursor` is the previous page's `next`. */
    page(query?: ListQuery<JobName<Jobs>> & { readonly cursor?: number | undefined }, call?: CallOptions): Promise<JobPage>;
  };
  /** The job types the cluster runs, with their input schemas. */
  jobTypes(call?: CallOptions): Promise<JobTypeInfo[]>;
  /** Schedulers, workers and Redis nodes as the API's process sees them. */
  cluster(call?: CallOptions): Promise<ClusterView>;
  readonly workers: {
    /** Asks a worker node to finish its work and take no more (needs the `admin` scope). */
    drain(id: string, call?: CallOptions): Promise<DrainAnswer>;
  };
  /** Job types deployed at runtime (the `admin` scope but for `versions`). */
  readonly deployments: {
    /** Deploys a module (`source`: its text, relative imports bundled in) as the new active version; `created` false when that code was active already. */
    deploy(module: { readonly source: string; readonly filename?: string }, call?: CallOptions): Promise<DeployAnswer>;
    /** A deployed type's versions and which is active. */
    versions(name: string, call?: CallOptions): Promise<JobTypeVersions>;
    /** Makes a stored version the active one (a rollback). */
    activate(name: string, version: number, call?: CallOptions): Promise<ActivateAnswer>;
    /** Deletes a version that is neither active nor run by a job in flight. */
    remove(name: string, version: number, call?: CallOptions): Promise<DeleteVersionAnswer>;
  };
  /** Jobs run on a cron schedule, each tick once (the `submit` scope for changes). */
  readonly schedules: {
    /** Stores a schedule; its job, input and options are checked as a submission's. */
    create(schedule: NewSchedule, call?: CallOptions): Promise<Schedule>;
    /** Every schedule, oldest first, with its next runs and the jobs its last ticks started. */
    list(call?: CallOptions): Promise<Schedule[]>;
    get(id: string, call?: CallOptions): Promise<Schedule>;
    /** No tick fires until it is resumed. */
    pause(id: string, call?: CallOptions): Promise<Schedule>;
    /** Ticks fire again from now on (those while paused do not run). */
    resume(id: string, call?: CallOptions): Promise<Schedule>;
    /** Deletes the schedule; the jobs it started stay. */
    remove(id: string, call?: CallOptions): Promise<DeleteScheduleAnswer>;
  };
}

/**
 * A client of the API at `url`. Typed by the job modules it will submit:
 * `createClient<JobTypes<[typeof primes, typeof wordcount]>>({ url })` (or a map
 * `createClient<{ primes: typeof primes }>`); without a type argument any name and input go.
 * Every call takes `{ signal, timeoutMs }`; see `Http` for timeouts and what is asked again after a 429/503.
 */
export function createClient<Jobs extends JobMap | UntypedJobs = UntypedJobs>(options: ClientOptions): RingpoolClient<Jobs> {
  const http = new Http(options);
  const page = async (query: ListQuery & { readonly cursor?: number | undefined } = {}, call: CallOptions = {}): Promise<JobPage> => {
    const path = withQuery('/v1/jobs', { status: query.status, job: query.job, q: query.q, tenant: query.tenant, limit: query.limit, cursor: query.cursor });
    return (await http.json<JobPage>({ method: 'GET', path }, call)).body;
  };
  return {
    url: http.url,
    async submit(name, input, jobOptions, call = {}) {
      const { body } = await http.json<{ id: string }>({ method: 'POST', path: '/v1/jobs', body: submission(name, input, jobOptions), ...idempotencyKeyOf(call) }, call);
      return new JobHandle(http, body.id);
    },
    async submitAndWait(name, input, jobOptions, wait) {
      const waitMs = checkWait(wait.waitMs, 'waitMs');
      const path = withQuery('/v1/jobs', { wait: waitMs });
      const spec = { method: 'POST', path, body: submission(name, input, jobOptions), waitMs, ...idempotencyKeyOf(wait) } as const;
      const { status, body } = await http.json<Omit<WaitedJob<never>, 'handle' | 'ended'>>(spec, wait);
      // A resent submission (same Idempotency-Key) answers 200 at once without waiting: ended only if its status says so.
      return { ...body, ended: status === 200 && ENDED.has(body.status), handle: new JobHandle(http, body.id) };
    },
    job: (id) => new JobHandle(http, id),
    jobs: {
      get: async (id, call) => await new JobHandle(http, id).status(call),
      async *list(query = {}, call = {}) {
        let cursor: number | undefined;
        do {
          const found = await page({ ...query, cursor }, call);
          yield* found.jobs;
          cursor = found.next ?? undefined;
        } while (cursor !== undefined);
      },
      page,
    },
    jobTypes: async (call) => (await http.json<{ jobTypes: JobTypeInfo[] }>({ method: 'GET', path: '/v1/job-types' }, call)).body.jobTypes,
    cluster: async (call) => (await http.json<ClusterView>({ method: 'GET', path: '/v1/cluster' }, call)).body,
    workers: {
      drain: async (id, call) => (await http.json<DrainAnswer>({ method: 'POST', path: `/v1/workers/${encodeURIComponent(id)}/drain` }, call)).body,
    },
    deployments: {
      deploy: async (module, call) => (await http.json<DeployAnswer>({ method: 'POST', path: '/v1/job-types', body: module }, call)).body,
      versions: async (name, call) => (await http.json<JobTypeVersions>({ method: 'GET', path: `/v1/job-types/${encodeURIComponent(name)}/versions` }, call)).body,
      activate: async (name, version, call) => (await http.json<ActivateAnswer>({ method: 'POST', path: `/v1/job-types/${encodeURIComponent(name)}/versions/${version}/activate` }, call)).body,
      remove: async (name, version, call) => (await http.json<DeleteVersionAnswer>({ method: 'DELETE', path: `/v1/job-types/${encodeURIComponent(name)}/versions/${version}` }, call)).body,
    },
    schedules: {
      create: async (schedule, call) => (await http.json<Schedule>({ method: 'POST', path: '/v1/schedules', body: schedule }, call)).body,
      list: async (call) => (await http.json<{ schedules: Schedule[] }>({ method: 'GET', path: '/v1/schedules' }, call)).body.schedules,
      get: async (id, call) => (await http.json<Schedule>({ method: 'GET', path: `/v1/schedules/${encodeURIComponent(id)}` }, call)).body,
      pause: async (id, call) => (await http.json<Schedule>({ method: 'POST', path: `/v1/schedules/${encodeURIComponent(id)}/pause` }, call)).body,
      resume: async (id, call) => (await http.json<Schedule>({ method: 'POST', path: `/v1/schedules/${encodeURIComponent(id)}/resume` }, call)).body,
      remove: async (id, call) => (await http.json<DeleteScheduleAnswer>({ method: 'DELETE', path: `/v1/schedules/${encodeURIComponent(id)}` }, call)).body,
    },
  };
}

/** The `POST /v1/jobs` body (src/api/wire.ts `SubmitBodySchema`). */
const ENDED: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** The key of one submit call: the caller's, or one generated for the call (the same on each of its retries). */
function idempotencyKeyOf(call: SubmitCallOptions): { idempotencyKey?: string } {
  const key = call.idempotencyKey;
  if (key === undefined) return {};
  return { idempotencyKey: key === true ? globalThis.crypto.randomUUID() : key };
}

function submission(job: string, input: unknown, options: JobOptions | undefined): { job: string; input: unknown; options?: JobOptions } {
  return { job, input, ...(options === undefined ? {} : { options }) };
}

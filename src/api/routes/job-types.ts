// GET /v1/job-types: the job types this node serves (from its folders, and deployed), with their input schemas.
import { Hono } from 'hono';
import { z } from 'zod';
import type { JobResolver, ServedJob } from '../../registry/live-registry.js';

/** Described once per loaded version: the JSON Schema of an input does not change. */
const described = new WeakMap<ServedJob, object>();

/** A job type as `GET /v1/job-types` and the dashboard show it. */
export function describeJobType(job: ServedJob): object {
  let info = described.get(job);
  if (info === undefined) {
    info = {
      name: job.name,
      description: job.module.description ?? '',
      resultType: job.module.resultType ?? 'json',
      inputSchema: z.toJSONSchema(job.module.input, { unrepresentable: 'any' }),
      source: job.source,
      version: job.version,
      digest: job.digest,
    };
    described.set(job, info);
  }
  return info;
}

/** Mounted at /v1/job-types. Read at each request: a deployed version is served as soon as this node has it. */
export function jobTypeRoutes(registry: Pick<JobResolver, 'list'>): Hono {
  const app = new Hono();
  app.get('/', (c) => c.json({ jobTypes: registry.list().map(describeJobType) }));
  return app;
}

// GET /v1/job-types: the job types this node serves (from its folders, and deployed), with their input schemas.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import { z } from 'zod';
import type { JobResolver, ServedJob } from '../../registry/live-registry.js';
import { createRoute, json, routeApp, serveRoute } from '../route-spec.js';
import { JobTypesSchema, type WireJobTypeInfo } from '../wire.js';

const listJobTypes = createRoute({
  operationId: 'listJobTypes',
  method: 'get',
  path: '/',
  tags: ['job types'],
  summary: 'the job types this node runs',
  description: "Each type's name, description, result type, source (a --jobs folder, or deployed with its active version) and the JSON Schema of its input (the same schemas as the POST /v1/jobs body in this document).",
  responses: { 200: json('the job types', JobTypesSchema) },
});

/** Described once per loaded version: the JSON Schema of an input does not change. */
const described = new WeakMap<ServedJob, WireJobTypeInfo>();

/** A job type as `GET /v1/job-types` and the dashboard show it. */
export function describeJobType(job: ServedJob): WireJobTypeInfo {
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
export function jobTypeRoutes(registry: Pick<JobResolver, 'list'>): OpenAPIHono<BlankEnv> {
  const app = routeApp();
  serveRoute(app, listJobTypes, (c) => c.json({ jobTypes: registry.list().map(describeJobType) }));
  return app;
}

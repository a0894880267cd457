// GET /v1/job-types: the job types this node runs, with their input schemas and defaults.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BlankEnv } from 'hono/types';
import { describeJobTypes, type JobRegistry } from '../../registry/job-registry.js';
import { memoOnJobTypes } from '../openapi.js';
import { createRoute, json, routeApp, serveRoute } from '../route-spec.js';
import { JobTypesSchema } from '../wire.js';

const listJobTypes = createRoute({
  operationId: 'listJobTypes',
  method: 'get',
  path: '/',
  tags: ['job types'],
  summary: 'the job types this node runs',
  description: "Each type's name, description, result type and the JSON Schema of its input (the same schemas as the POST /v1/jobs body in this document).",
  responses: { 200: json('the job types', JobTypesSchema) },
});

/** Mounted at /v1/job-types. Described again only when the registry's job types change. */
export function jobTypeRoutes(registry: JobRegistry): OpenAPIHono<BlankEnv> {
  const jobTypes = memoOnJobTypes(registry, () => describeJobTypes(registry));
  const app = routeApp();
  serveRoute(app, listJobTypes, (c) => c.json({ jobTypes: jobTypes() }));
  return app;
}

// GET /v1/job-types: the job types this node runs, with their input schemas and defaults.
import { Hono } from 'hono';
import { describeJobTypes, type JobRegistry } from '../../registry/job-registry.js';

/** Mounted at /v1/job-types. The registry does not change while the process runs: described once. */
export function jobTypeRoutes(registry: JobRegistry): Hono {
  const jobTypes = describeJobTypes(registry);
  const app = new Hono();
  app.get('/', (c) => c.json({ jobTypes }));
  return app;
}

// GET /v1/job-types, asked once per page load.
import { api } from './api.js';

let pending;

/** The job types with their input JSON Schemas; a failed call is retried next time. */
export function jobTypes() {
  pending ??= api('/v1/job-types')
    .then((r) => r.jobTypes ?? [])
    .catch((err) => {
      pending = undefined;
      throw err;
    });
  return pending;
}

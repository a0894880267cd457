// GET /v1/job-types, asked again once the last answer is a few seconds old: a deployed version shows up without a reload.
import { api } from './api.js';

/** How long an answer is used before the next page asks again, ms. */
const FRESH_MS = 3000;
let pending;
let askedAt = 0;

/**
 * The job types with their input JSON Schemas, source and active version; a failed call is
 * retried next time. `fresh`: asked now whatever the last answer's age (the submit page: a version
 * deployed a moment ago must be the one the form submits).
 */
export function jobTypes({ fresh = false } = {}) {
  if (fresh || pending === undefined || Date.now() - askedAt > FRESH_MS) {
    askedAt = Date.now();
    pending = api('/v1/job-types')
      .then((r) => r.jobTypes ?? [])
      .catch((err) => {
        pending = undefined;
        throw err;
      });
  }
  return pending;
}

/** A deployed type's versions (GET /v1/job-types/:name/versions), newest first. */
export async function versionsOf(name) {
  const r = await api(`/v1/job-types/${encodeURIComponent(name)}/versions`);
  return [...(r.versions ?? [])].reverse();
}

/** What the dashboard says of where a type comes from: `v3` for a deployed version, `folder` otherwise. */
export function sourceLabel(type) {
  return type.source === 'deployed' ? `v${type.version}` : 'folder';
}

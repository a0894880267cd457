// The dashboard's client of the JSON API: the bearer token, 401 → ask for a token, errors as ApiError.

import { getToken } from './token.js';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Called with the API's message when it answers 401; the app shows the token form. */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/**
 * Calls the API. `body` is sent as JSON. Resolves with the parsed JSON (or a Blob for images);
 * rejects with ApiError carrying the API's `{error:{code,message}}`.
 */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', `the API at ${location.origin} cannot be reached (${err.message})`);
  }
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = `${method} ${path} answered ${res.status} ${res.statusText}`;
    let details;
    if (type.includes('json')) {
      const payload = await res.json().catch(() => null);
      if (payload?.error) ({ code = code, message = message, details } = payload.error);
    }
    const error = new ApiError(res.status, code, message, details);
    if (res.status === 401) onUnauthorized(error);
    throw error;
  }
  if (type.includes('json')) return res.json();
  if (type.startsWith('image/')) return res.blob();
  return res.text();
}

/** The URL of a job's event stream: EventSource cannot send headers, so the token goes in the query. */
export function eventsUrl(id) {
  const token = getToken();
  return `/v1/jobs/${encodeURIComponent(id)}/events${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

/** A query string from the defined, non-empty values of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

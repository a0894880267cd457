// The API reference page: Swagger UI over /v1/openapi.json, sending the token the dashboard keeps in this tab.

import { getToken, setToken } from './token.js';

const form = document.getElementById('token-form');
const forget = document.getElementById('forget-token');
const loadError = document.getElementById('load-error');

/** "Try it out" sends the stored token, unless the request has one already (Swagger UI's Authorize). */
function withToken(request) {
  const token = getToken();
  const has = Object.keys(request.headers ?? {}).some((h) => h.toLowerCase() === 'authorization');
  if (token && !has) request.headers = { ...request.headers, Authorization: `Bearer ${token}` };
  return request;
}

async function start() {
  form.hidden = true;
  loadError.hidden = true;
  forget.hidden = !getToken();
  const res = await fetch('/v1/openapi.json', { headers: withToken({ headers: { accept: 'application/json' } }).headers });
  if (res.status === 401 || res.status === 403) {
    const { error } = await res.json().catch(() => ({ error: { message: res.statusText } }));
    document.getElementById('token-message').textContent = getToken()
      ? `The server did not accept the token: ${error.message}`
      : 'This ringpool server needs an API token to show its API. Ask its operator for one (--api-token / RINGPOOL_API_TOKENS).';
    form.hidden = false;
    document.getElementById('token-input').focus();
    return;
  }
  if (!res.ok) {
    loadError.textContent = `The API document could not be loaded: HTTP ${res.status}`;
    loadError.hidden = false;
    return;
  }
  const spec = await res.json();
  window.SwaggerUIBundle({ spec, dom_id: '#swagger-ui', deepLinking: true, requestInterceptor: withToken, defaultModelsExpandDepth: 0 });
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  setToken(document.getElementById('token-input').value.trim());
  void start();
});

forget.addEventListener('click', () => {
  setToken('');
  location.reload();
});

void start();

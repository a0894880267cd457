// The dashboard's entry: hash routes → views, the token form when the API answers 401.
import { whenUnauthorized } from './api.js';
import { getToken, setToken } from './token.js';
import { h, replace } from './dom.js';
import { renderOverview } from './overview.js';
import { renderJobs } from './jobs.js';
import { renderJobDetail } from './job-detail.js';
import { renderSubmit } from './submit.js';
import { renderSchedules } from './schedules.js';

/** Route table: pattern on the hash path → view. A view returns a function that stops its timers. */
const ROUTES = [
  { re: /^\/?$/, nav: 'overview', title: 'Overview', view: (el) => renderOverview(el) },
  { re: /^\/jobs\/?$/, nav: 'jobs', title: 'Jobs', view: (el, _m, params) => renderJobs(el, params) },
  { re: /^\/jobs\/([^/]+)$/, nav: 'jobs', title: 'Job', view: (el, m) => renderJobDetail(el, decodeURIComponent(m[1])) },
  { re: /^\/schedules\/?$/, nav: 'schedules', title: 'Schedules', view: (el) => renderSchedules(el) },
  { re: /^\/submit(?:\/([^/]+))?\/?$/, nav: 'submit', title: 'Submit', view: (el, m) => renderSubmit(el, m[1] ? decodeURIComponent(m[1]) : undefined) },
];

const main = document.getElementById('main');
let stop = () => {};

/** `#/jobs?status=failed` → { path: '/jobs', params: URLSearchParams }. */
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = raw.split('?');
  return { path, params: new URLSearchParams(search) };
}

function route() {
  stop();
  stop = () => {};
  const { path, params } = parseHash();
  const found = ROUTES.map((r) => ({ r, m: r.re.exec(path) })).find((x) => x.m !== null);
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (found && a.dataset.nav === found.r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!found) {
    replace(main, h('section', { class: 'card' }, h('h1', {}, 'Not found'), h('p', {}, 'There is no page at ', h('code', {}, location.hash), '. ', h('a', { href: '#/' }, 'Go to the overview'), '.')));
    document.title = 'Not found · ringpool';
    return;
  }
  document.title = `${found.r.title} · ringpool`;
  replace(main);
  try {
    stop = found.r.view(main, found.m, params) ?? (() => {});
  } catch (err) {
    replace(main, h('p', { class: 'error', role: 'alert' }, String(err?.message ?? err)));
  }
}

// ── token form ────────────────────────────────────────────────────────────────
const modal = document.getElementById('auth');
const form = modal.querySelector('form');
const input = document.getElementById('auth-token');
const signout = document.getElementById('signout');

whenUnauthorized((error) => {
  if (!modal.hidden) return;
  document.getElementById('auth-message').textContent = getToken()
    ? `The server did not accept the token: ${error.message}`
    : 'This ringpool server needs an API token. Ask its operator for one (--api-token / RINGPOOL_API_TOKENS).';
  modal.hidden = false;
  input.value = '';
  input.focus();
  stop();
  stop = () => {};
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  setToken(input.value.trim());
  modal.hidden = true;
  signout.hidden = !getToken();
  route();
});

signout.hidden = !getToken();
signout.addEventListener('click', () => {
  setToken('');
  signout.hidden = true;
  route();
});

window.addEventListener('hashchange', route);
route();

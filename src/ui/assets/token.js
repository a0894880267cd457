// The API token this tab keeps: one storage key for the dashboard and the API reference page (/docs serves this file too).

const TOKEN_KEY = 'ringpool.token';

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives for this page only */
  }
  // bull-board's own page cannot send a header; a same-site session cookie scoped to its path lets
  // a server that accepts it there authenticate the board too.
  document.cookie = token
    ? `ringpool_token=${encodeURIComponent(token)}; path=/ui/queues; SameSite=Strict`
    : 'ringpool_token=; path=/ui/queues; SameSite=Strict; max-age=0';
}

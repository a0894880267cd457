// The parts of the page around the views: the connection indicator in the top bar.

/** Shows whether the last poll of the API worked: `ok`, `error` (with a reason) or `idle`. */
export function setConnection(state, text = '') {
  const el = document.getElementById('conn');
  if (el === null) return;
  el.className = `conn conn-${state}`;
  el.textContent = state === 'ok' ? 'live' : state === 'error' ? `offline${text ? `: ${text}` : ''}` : '';
  el.title = text;
}

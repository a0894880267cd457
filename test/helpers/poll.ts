// Small waits and reads the end-to-end tests share: poll until a value comes, fetch JSON or fail with the body, a pid still running its command.
import { readFileSync } from 'node:fs';

/**
 * Polls `probe` every `everyMs` (200) until it returns a value (not undefined, not false, not a
 * throw); fails naming `what` after `ms`, with the probe's last error if it threw.
 */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 200): Promise<Exclude<T, false>> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch((err: unknown) => {
        lastError = err;
        return undefined;
      });
    if (value !== undefined && value !== false) return value as Exclude<T, false>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The JSON body of a request; a status that is not 2xx throws with the URL, status and body. */
export async function fetchJson(url: string, init?: RequestInit): Promise<any> {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Whether `pid` runs (exists, and is not a zombie). */
export function running(pid: number): boolean {
  try {
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Whether `pid` runs and its command line matches `match` (not a process that reused the pid). */
export function runningAs(pid: number, match: string): boolean {
  try {
    return running(pid) && new RegExp(match).test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
  } catch {
    return false;
  }
}

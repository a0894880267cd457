// Launches Debian's headless Chromium through playwright-core for the dashboard's browser tests.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where the Debian `chromium` package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Whether a browser test can run here; a suite skips itself (with this reason) when it cannot. */
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-dev-shm-usage'];

/** A headless Chromium (playwright gives each launch its own throw-away profile). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 30_000 });
}

/**
 * Collects what went wrong inside a page: uncaught exceptions and console errors, except those
 * matching `expected` (e.g. the 401 a token test provokes on purpose).
 */
export function watchPageErrors(page: Page, expected: RegExp[] = []): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (!expected.some((re) => re.test(text))) errors.push(`console: ${text}`);
  });
  return errors;
}

// The API reference page (/docs) in real headless Chromium against a whole node with a token: it renders every operation, and "try it" sends the token the dashboard keeps.
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchBrowser, watchPageErrors } from '../helpers/browser.js';
import { startTestNode, type TestNode } from '../helpers/cluster.js';

const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const TOKEN = 'api-docs-e2e-token-0123456789';
/** Only the point at which a state is declared never coming (a loaded two-core machine), as in dashboard.test.ts. */
const WAIT = { timeout: 60_000 };

describe.skipIf(!HAS_CHROMIUM)('the API reference page in a browser', { timeout: 180_000 }, () => {
  let node: TestNode;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[];
  let operations: number;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    node = await startTestNode({ apiTokens: [TOKEN] }, 'api-docs');
    const doc = await node.api('/v1/openapi.json', { headers: { authorization: `Bearer ${TOKEN}` } });
    operations = Object.values(doc.body.paths as Record<string, object>).reduce((n, item) => n + Object.keys(item).length, 0);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1360, height: 960 } });
    page = await context.newPage();
    // The dashboard's first requests, before it has the token, are 401 on purpose.
    pageErrors = watchPageErrors(page, [/status of 401/]);
  });

  afterAll(async () => {
    await browser?.close();
    await node?.close();
  });

  it('opens from the dashboard with the token the dashboard keeps, and shows every operation of the document', async () => {
    await page.goto(`${node.url}/ui`);
    // The dashboard asks for the token and keeps it in this tab (src/ui/assets/api.js).
    await page.getByTestId('auth-token').fill(TOKEN, WAIT);
    await page.getByTestId('auth-submit').click();
    await page.getByTestId('nav-docs').click();
    await page.waitForURL(/\/docs$/, WAIT);
    await page.locator('.opblock').first().waitFor(WAIT);
    expect(await page.locator('.opblock').count()).toBe(operations);
    const tags = await page.locator('.opblock-tag').evaluateAll((els) => els.map((e) => e.getAttribute('data-tag')));
    expect(tags.sort()).toEqual(['cluster', 'health', 'job types', 'jobs', 'reference', 'schedules']);
    expect(await page.locator('.opblock-summary-path', { hasText: '/v1/jobs/{id}/result' }).count()).toBe(1);
    expect(await page.getByTestId('docs-token-form').isVisible()).toBe(false);
  });

  it('tries GET /v1/job-types through the page: the request carries the token and answers 200', async () => {
    const op = page.locator('#operations-job_types-listJobTypes');
    await op.locator('.opblock-summary').click();
    await op.locator('.try-out__btn').click(WAIT);
    const answered = page.waitForResponse((res) => new URL(res.url()).pathname === '/v1/job-types' && res.request().method() === 'GET', WAIT);
    await op.locator('.execute').click(WAIT);
    const res = await answered;
    expect(res.request().headers().authorization).toBe(`Bearer ${TOKEN}`);
    expect(res.status()).toBe(200);
    const status = op.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor(WAIT);
    expect((await status.textContent())?.trim()).toMatch(/^200\b/);
    expect(await op.locator('.live-responses-table').textContent()).toContain('primes');
    await status.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}api-docs.png`, fullPage: false });
    expect(pageErrors).toEqual([]);
  });

  it('asks for the token itself when the tab has none, and keeps it where the dashboard does', async () => {
    const fresh = await context.browser()!.newContext();
    try {
      const docs = await fresh.newPage();
      const errors = watchPageErrors(docs, [/status of 401/]);
      await docs.goto(`${node.url}/docs`);
      await docs.getByTestId('docs-token').fill(TOKEN, WAIT);
      await docs.getByTestId('docs-token-form').locator('button[type="submit"]').click();
      await docs.locator('.opblock').first().waitFor(WAIT);
      expect(await docs.evaluate("sessionStorage.getItem('ringpool.token')")).toBe(TOKEN);
      expect(errors).toEqual([]);
    } finally {
      await fresh.close();
    }
  });
});

import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { signIn, url } from './session';

test.beforeEach(async ({ page }) => {
  await signIn(page, 'alice');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the server renders the console shell and the projects table', async ({ page }) => {
    const response = await page.goto(url('/projects'));
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle('Projects · Keyhold');
    await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Credentials', exact: true })).toBeVisible();
    await expect(page.getByRole('heading', { level: 1, name: 'Projects' })).toBeVisible();
    const table = page.getByRole('table');
    await expect(table.getByRole('columnheader', { name: 'Department' })).toBeVisible();
    // The demo organisation of a new embedded cluster.
    await expect(table.getByRole('row', { name: /vision\s+research/ })).toBeVisible();
  });

  test('the root redirects to Credentials', async ({ page }) => {
    await page.goto(url('/'));
    await expect(page).toHaveURL(url('/credentials'));
    await expect(page.getByRole('heading', { level: 1, name: 'Credentials' })).toBeVisible();
  });
});

test('an unknown address gets the 404 page with status 404', async ({ page }) => {
  const response = await page.goto(url('/no/such/page'));
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Go to Credentials' })).toBeVisible();
});

test('after hydration, Refresh asks the server again and shows a project created meanwhile', async ({ page }) => {
  await page.goto(url('/projects'));
  await page.locator('html[data-hydrated]').waitFor();
  const table = page.getByRole('table');
  await expect(table.getByRole('row', { name: /vision/ })).toBeVisible();
  const before = await page.locator('time').getAttribute('datetime');

  // A second, real client changes the cluster: kubectl against the embedded API.
  const manifest = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'robotics', labels: { 'keyhold.dev/project': 'robotics', 'keyhold.dev/department': 'research' } },
  };
  execFileSync('kubectl', ['apply', '--validate=false', '-f', '-'], { input: JSON.stringify(manifest) });

  const row = table.getByRole('row', { name: /robotics\s+research/ });
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(row).toBeVisible({ timeout: 1_000 });
  }).toPass();
  await expect(page.locator('time')).not.toHaveAttribute('datetime', before ?? '');
});

test('navigation happens in the browser once hydrated', async ({ page }) => {
  await page.goto(url('/projects'));
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Credentials', exact: true }).click();
  await expect(page).toHaveURL(url('/credentials'));
  await expect(page.getByRole('heading', { level: 1, name: 'Credentials' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Credentials', exact: true })).toHaveAttribute('aria-current', 'page');
});

test('health and readiness answer, with a request id', async ({ request }) => {
  const health = await request.get(url('/healthz'));
  expect(health.status()).toBe(200);
  expect(health.headers()['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  const ready = await request.get(url('/readyz'));
  expect(ready.status()).toBe(200);
});

test("the Credentials page downloads no other page's code; a credential's page fetches its own when opened", async ({ page }) => {
  const chunks: string[] = [];
  page.on('request', (r) => { if (/\/pkg\/.*\.wasm$/.test(r.url()) && !r.url().endsWith('/keyhold.wasm')) chunks.push(new URL(r.url()).pathname); });
  await page.goto(url('/credentials'));
  await page.locator('html[data-hydrated]').waitFor();
  expect(chunks).toEqual([]);
  await page.getByRole('link', { name: 'Docker Hub (vision)' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Docker Hub (vision)' })).toBeVisible();
  expect(chunks.some((c) => c.includes('credential_detail'))).toBe(true);
  // Its controls work: the chunk came and hydrated (a dialog is the WASM's).
  await page.getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByRole('dialog', { name: 'Rename Docker Hub (vision)' })).toBeVisible();
});

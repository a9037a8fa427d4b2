// The Clusters page (issue 20, its first part): administrators see this cluster and its members
// (tests/clusters.rs adds members); everyone else neither the link nor the page.
import { expect, test } from '@playwright/test';
import { signIn, url } from './session';

test('an administrator finds Clusters in the navigation, with this cluster reachable', async ({ page }) => {
  await signIn(page, 'alice');
  await page.goto(url('/credentials'));
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click();
  await expect(page).toHaveURL(url('/clusters'));
  const row = page.getByRole('table', { name: 'Clusters' }).getByRole('row', { name: /local \(this cluster\)/ });
  await expect(row).toContainText(/Reachable since/);
  await expect(row).toContainText('etl, nlp, serving, vision');
});

test('an editor gets neither the link nor the page', async ({ page }) => {
  await signIn(page, 'bob');
  await page.goto(url('/credentials'));
  await page.locator('html[data-hydrated]').waitFor();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Credentials', exact: true })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' })).toHaveCount(0);
  const response = await page.goto(url('/clusters'));
  expect(response?.status()).toBe(403);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });
  test('the page is rendered on the server', async ({ page }) => {
    await signIn(page, 'alice');
    await page.goto(url('/clusters'));
    await expect(page.getByRole('table', { name: 'Clusters' }).getByRole('row', { name: /local \(this cluster\)/ })).toContainText(/Reachable since/);
  });
});

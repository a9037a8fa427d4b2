// A credential's page: what it is, where its Secret is, who uses it, and snippets to copy.
import { expect, test } from '@playwright/test';
import { signIn, url } from './session';

test('a credential page shows its facts, key names, propagation, users and snippets to copy', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await signIn(page, 'alice');
  await page.goto(url('/credentials'));
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('link', { name: 'Docker Hub (vision)' }).click();
  await expect(page).toHaveURL(url('/credentials/vision/docker-hub-vision'));
  await expect(page.getByRole('heading', { level: 1, name: 'Docker Hub (vision)' })).toBeVisible();
  for (const fact of ['Docker registry', 'local › research › vision', 'vision/docker-hub-vision', '.dockerconfigjson', 'keyhold-demo']) {
    await expect(page.locator('dd', { hasText: fact })).toHaveCount(1);
  }
  await expect(page.getByRole('table', { name: 'Propagation' }).getByRole('row', { name: /vision/ })).toContainText('No issues found');
  await expect(page.getByText('Deployment/vision/trainer')).toBeVisible();

  const pull = page.locator('section', { has: page.getByRole('heading', { name: 'Pulling images (imagePullSecrets)' }) });
  await expect(pull.locator('code')).toHaveText('imagePullSecrets:\n  - name: docker-hub-vision\n', { useInnerText: true });
  await page.getByRole('button', { name: 'Copy Pulling images (imagePullSecrets)' }).click();
  await expect(page.getByRole('button', { name: 'Copy Pulling images (imagePullSecrets)' })).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('imagePullSecrets:\n  - name: docker-hub-vision\n');
  await expect(page.getByRole('heading', { name: 'Kubeflow PodDefault' })).toBeVisible();
  expect(await page.content()).not.toContain('demo-placeholder-not-a-secret');
});

test('a credential the user may not see is not found', async ({ page }) => {
  await signIn(page, 'carol');
  const response = await page.goto(url('/credentials/nlp/s3-datasets'));
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { DEMO_PASSWORD, url } from './session';

async function fillSignIn(page: Page, user: string, password: string) {
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('a page without a session sends you to sign in and back, and Sign out ends it', async ({ page }) => {
  await page.goto(url('/projects'));
  await expect(page).toHaveURL(url('/login?next=/projects'));
  await fillSignIn(page, 'bob', DEMO_PASSWORD);
  await expect(page).toHaveURL(url('/projects'));
  await expect(page.getByRole('banner').getByText('bob', { exact: true })).toBeVisible();
  const table = page.getByRole('table');
  await expect(table.getByRole('row', { name: /vision\s+research/ })).toBeVisible();
  await expect(table.getByRole('row', { name: /serving/ })).toHaveCount(0);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto(url('/projects'));
  await expect(page).toHaveURL(url('/login?next=/projects'));
});

test('a wrong password and an unknown user get the same message', async ({ page }) => {
  await page.goto(url('/login'));
  await fillSignIn(page, 'bob', 'not-the-password');
  const alert = page.getByRole('alert');
  await expect(alert).toHaveText('Wrong username or password.');
  await fillSignIn(page, 'nobody-here', 'not-the-password');
  await expect(alert).toHaveText('Wrong username or password.');
  await expect(page).toHaveURL(url('/login'));
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a wrong password shows its message in the page, and the right one signs in', async ({ page }) => {
    await page.goto(url('/login?next=/projects'));
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Wrong username or password.');
    await expect(page.locator('body')).not.toContainText('{');
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(url('/projects'));
    await expect(page.getByRole('banner').getByText('carol', { exact: true })).toBeVisible();
  });
});

test('signing in with a Kubernetes token', async ({ page }) => {
  const kubeconfig = readFileSync(process.env.KUBECONFIG ?? '', 'utf8');
  const token = /token: (\S+)/.exec(kubeconfig)?.[1] ?? '';
  await page.goto(url('/login'));
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('link', { name: 'Sign in with a token' }).click();
  await page.getByLabel('Token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('This token was not accepted.');
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(url('/credentials'));
  await expect(page.getByRole('banner').getByText('admin', { exact: true })).toBeVisible();
});

test('an account made with keyhold user add signs in; without a role it gets a 403 page', async ({ page }) => {
  const binary = resolve(__dirname, '../../target/debug/keyhold');
  const password = execFileSync(binary, ['user', 'add', 'gina', '--cluster', 'kubeconfig'], { encoding: 'utf8' }).trim();
  await page.goto(url('/login?next=/credentials'));
  await fillSignIn(page, 'gina', password);
  await expect(page.getByRole('heading', { name: 'You do not have access to this page' })).toBeVisible();
  const response = await page.goto(url('/credentials'));
  expect(response?.status()).toBe(403);
});

test('pages keep to their Content-Security-Policy and still hydrate', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) violations.push(message.text());
  });
  await page.goto(url('/login?next=/projects'));
  await fillSignIn(page, 'carol', DEMO_PASSWORD);
  await expect(page).toHaveURL(url('/projects'));
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expect(page.getByRole('table').getByRole('row', { name: /vision/ })).toBeVisible();
  expect(violations).toEqual([]);
});

// Single sign-on through a real OpenID provider (npm's oidc-provider, tests/fixtures/oidc/), on a
// Keyhold of this file's own: dana, in the provider's group `research`, signs in with the
// provider's login form and gets research's roles, then signs out of Keyhold and the provider.
// Then the same with JavaScript off: single sign-on needs none.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { freePort, startKeyhold, type Keyhold } from '../server';

test.describe.configure({ mode: 'serial' });

let keyhold: Keyhold;
let provider: ChildProcess;

test.beforeAll(async () => {
  const port = await freePort();
  keyhold = await startKeyhold(true, {
    KEYHOLD_OIDC_ISSUER: `http://127.0.0.1:${port}`,
    KEYHOLD_OIDC_CLIENT_ID: 'keyhold',
    KEYHOLD_OIDC_CLIENT_SECRET: 'a-test-client-secret-of-forty-characters',
    KEYHOLD_OIDC_SCOPES: 'openid,email,groups',
    KEYHOLD_OIDC_NAME: 'Example SSO',
  });
  provider = spawn('node', [resolve(__dirname, '../../tests/fixtures/oidc/provider.mjs')], {
    env: { ...process.env, PORT: String(port), REDIRECT_URI: `${keyhold.url}/auth/oidc/callback`, POST_LOGOUT_REDIRECT_URI: `${keyhold.url}/login` },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: provider.stdout! });
  await new Promise<void>((ok) => lines.once('line', () => ok()));
  lines.on('line', () => {});
});

test.afterAll(async () => {
  provider?.kill();
  await keyhold?.stop();
});

/** Through the provider's own pages: its login form (any password), then its consent. */
async function signInAtTheProvider(page: Page, who: string) {
  await page.locator('input[name="login"]').fill(who);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

test('dana signs in through the provider with her group\'s roles and signs out of both', async ({ page }) => {
  await page.goto(`${keyhold.url}/credentials`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
  await signInAtTheProvider(page, 'dana');
  await expect(page).toHaveURL(`${keyhold.url}/credentials`);
  await page.locator('html[data-hydrated]').waitFor();
  await expect(page.getByText('dana@example.com')).toBeVisible();
  // research's editor role: vision's credentials, and New credential.
  await expect(page.getByRole('link', { name: 'Docker Hub (vision)' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'New credential' })).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await expect(page).toHaveURL(`${keyhold.url}/login`);
  await page.goto(`${keyhold.url}/credentials`);
  await expect(page).toHaveURL(/\/login\?next=/);
  // Signed out at the provider too: its login form asks again.
  await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
  await expect(page.locator('input[name="login"]')).toBeVisible();
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('single sign-on works, and a failed one says why on the sign-in page', async ({ page }) => {
    await page.goto(`${keyhold.url}/login?error=oidc-state`);
    await expect(page.getByRole('alert')).toContainText('This sign-in was not started here, or it was used already. Start again.');
    await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
    await signInAtTheProvider(page, 'dana');
    await expect(page).toHaveURL(`${keyhold.url}/credentials`);
    await expect(page.getByRole('link', { name: 'Docker Hub (vision)' })).toBeVisible();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await expect(page).toHaveURL(`${keyhold.url}/login`);
  });
});

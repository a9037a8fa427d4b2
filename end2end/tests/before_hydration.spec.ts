// Before the WASM has hydrated a page (a slow network), its forms either work as plain HTML forms
// (sign-in: auth.spec.ts) or visibly cannot be sent yet: never a raw JSON answer.
import { expect, test, type Page } from '@playwright/test';
import { signIn, url } from './session';

async function withoutWasm(page: Page, path: string) {
  await page.route('**/*.wasm', (route) => route.abort());
  await page.goto(url(path));
}

test('forms sent as JSON by the WASM are disabled until it has hydrated the page', async ({ page }) => {
  await signIn(page, 'bob');
  const forms: [string, string][] = [
    ['/projects/vision/settings/secrets', 'Add secret'],
    ['/projects/vision/settings/secrets', 'Import'],
    ['/credentials/new?type=generic', 'Create credentials'],
    ['/credentials/new', 'Continue'],
    ['/me/credentials', 'Create personal credential'],
  ];
  for (const [path, button] of forms) {
    await withoutWasm(page, path);
    await expect(page.getByRole('button', { name: button, exact: true })).toBeDisabled();
    await page.unroute('**/*.wasm');
    await page.goto(url(path));
    await page.locator('html[data-hydrated]').waitFor();
    await expect(page.getByRole('button', { name: button, exact: true })).toBeEnabled();
  }
});

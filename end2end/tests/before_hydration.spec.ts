// Before the WASM has hydrated a page (a slow network), its forms either work as plain HTML forms
// (sign-in: auth.spec.ts) or visibly cannot be sent yet: never a raw JSON answer. Buttons that only
// the WASM carries out (dialogs, Refresh, Copy) look and act disabled until then.
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

test('buttons only the WASM carries out look and act disabled until it has hydrated the page', async ({ page }) => {
  await signIn(page, 'bob');
  const buttons: [string, string][] = [
    ['/credentials/vision/docker-hub-vision', 'Rename'],
    ['/credentials/vision/docker-hub-vision', 'Delete'],
    ['/credentials', 'Refresh'],
  ];
  for (const [path, name] of buttons) {
    await withoutWasm(page, path);
    const button = page.getByRole('button', { name, exact: true }).first();
    await expect(button).toHaveCSS('pointer-events', 'none');
    await page.unroute('**/*.wasm');
    await page.goto(url(path));
    await page.locator('html[data-hydrated]').waitFor();
    await expect(button).not.toHaveCSS('pointer-events', 'none');
  }
  // Hydrated, a dialog button does what it says.
  await page.goto(url('/credentials/vision/docker-hub-vision'));
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('button', { name: 'Rename', exact: true }).click();
  await expect(page.getByRole('dialog')).toBeVisible();
});

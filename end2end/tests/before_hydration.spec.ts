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

test('with the WASM 3 s late, sign-in sent at once works and the JSON forms wait, then work', async ({ page }) => {
  // A slow network: the bundle arrives 3 s after it is asked for (the route's delay, not the test's).
  await page.route('**/*.wasm', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await route.continue();
  });
  await page.goto(url('/login?next=/projects'), { waitUntil: 'domcontentloaded' });
  await page.getByLabel('Username').fill('bob');
  await page.getByLabel('Password').fill('keyhold-demo');
  await page.getByLabel('Password').press('Enter');
  await expect(page).toHaveURL(url('/projects'));
  await expect(page.getByRole('banner').getByText('bob', { exact: true })).toBeVisible();
  await expect(page.locator('body')).not.toContainText('{"');

  for (const [path, button] of [
    ['/projects/vision/settings/secrets', 'Add secret'],
    ['/credentials/new?type=generic', 'Create credentials'],
  ]) {
    await page.goto(url(path), { waitUntil: 'domcontentloaded' });
    const send = page.getByRole('button', { name: button, exact: true });
    await expect(send).toBeDisabled();
    await page.locator('html[data-hydrated]').waitFor();
    await expect(send).toBeEnabled();
  }
  // Hydrated late, the wizard answers an empty form with its messages in the page, not JSON.
  await page.getByRole('button', { name: 'Create credentials', exact: true }).click();
  await expect(page.getByText('Enter a name')).toBeVisible();
  await expect(page.locator('body')).not.toContainText('{"');
});

test("a page whose code chunk fails to arrive is loaded again and then works", async ({ page }) => {
  await signIn(page, 'alice');
  let fetched = 0;
  // The first fetch of a credential's page's chunk fails (a dropped connection, or a chunk gone
  // with an upgrade); later ones arrive.
  await page.route('**/split___credential_detail*', async (route) => { if (fetched++ === 0) await route.abort(); else await route.continue(); });
  await page.goto(url('/credentials/vision/docker-hub-vision'));
  await page.locator('html[data-hydrated]').waitFor();
  expect(fetched).toBeGreaterThanOrEqual(2);
  await page.getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByRole('dialog', { name: 'Rename Docker Hub (vision)' })).toBeVisible();
});

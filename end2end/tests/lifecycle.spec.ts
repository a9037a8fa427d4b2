// A credential's life in the browser (issue 19), on a Keyhold of this file's own: an "Expires on"
// date shown in the table and found by the Expires filter, then a rename and new values that the
// Activity tab lists, with JavaScript and without.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startKeyhold, type Keyhold } from '../server';
import { Leaks } from './leaks';
import { signIn } from './session';

test.describe.configure({ mode: 'serial' });

let keyhold: Keyhold;
const leaks = new Leaks();
const NAME = 'Hub token (lifecycle)';
const log = join(mkdtempSync(join(tmpdir(), 'keyhold-lifecycle-')), 'keyhold.log');

test.beforeAll(async () => {
  keyhold = await startKeyhold(true, {}, log);
});
test.afterAll(async () => {
  await keyhold?.stop();
});

function tomorrow(): string {
  return new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
}

async function open(page: Page, path: string) {
  await page.goto(`${keyhold.url}${path}`);
  await page.locator('html[data-hydrated]').waitFor();
}

test('a credential expiring tomorrow shows so and is found by the Expires filter', async ({ page }) => {
  leaks.watch(page);
  await signIn(page, 'bob', undefined, keyhold.url);
  await open(page, '/credentials/new?type=generic');
  await page.getByRole('radio', { name: /^vision/ }).check();
  await page.getByLabel('Name', { exact: true }).fill(NAME);
  await page.getByLabel('Expires on', { exact: true }).fill('2027-02-30');
  await page.getByLabel('Key', { exact: true }).fill('HF_TOKEN');
  await page.getByLabel('Value', { exact: true }).fill(leaks.canary('lifecycle'));
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await expect(page.getByText('Enter a date as YYYY-MM-DD')).toBeVisible();
  await page.getByLabel('Expires on', { exact: true }).fill(tomorrow());
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await expect(page.getByRole('heading', { level: 1, name: NAME })).toBeVisible();
  await expect(page.locator('dd', { hasText: `${tomorrow()} (Expires in 1 day)` })).toHaveCount(1);

  await open(page, '/credentials');
  await page.getByRole('button', { name: 'Add filter' }).click();
  await page.getByRole('button', { name: 'Expires' }).click();
  await page.getByLabel('Expires within 14 days').check();
  await page.getByRole('button', { name: 'Apply' }).click();
  const rows = page.getByRole('table', { name: 'Credentials' }).locator('tbody tr');
  await expect(rows.filter({ hasText: NAME })).toContainText('Expires in 1 day');
  // The demo's Hugging Face token runs out in ten days; nothing else of bob's expires soon.
  await expect(rows).toHaveCount(2);
  await expect(page).toHaveURL(/expires=Expires%20within%2014%20days/);
});

test('the Activity tab lists a rename and new values, with and without JavaScript', async ({ page, browser }) => {
  leaks.watch(page);
  await signIn(page, 'bob', undefined, keyhold.url);
  await open(page, '/credentials');
  await page.getByRole('link', { name: NAME }).click();
  // The credential's page is a chunk of its own: the address changes once it has loaded.
  await expect(page.getByRole('heading', { level: 1, name: NAME })).toBeVisible();
  const detail = page.url();

  await page.getByRole('button', { name: 'Rename' }).click();
  const rename = page.getByRole('dialog', { name: `Rename ${NAME}` });
  await rename.getByLabel('Description', { exact: true }).fill('Renamed by the lifecycle test');
  await rename.getByRole('button', { name: 'Save' }).click();
  await expect(rename).toBeHidden();

  await page.getByRole('button', { name: 'Replace values' }).click();
  const replace = page.getByRole('dialog', { name: `Replace the values of ${NAME}` });
  await replace.getByLabel('Value', { exact: true }).fill(leaks.canary('lifecycle-new'));
  await replace.getByRole('radio', { name: 'Restart the workloads that use it' }).check();
  await replace.getByRole('button', { name: 'Replace values' }).click();
  // Nothing uses it: the rollout restarted nothing, and says so before the dialog is closed.
  await expect(replace.getByRole('region', { name: 'Rollout' })).toHaveText('No workload uses it: nothing to restart.');
  await replace.getByRole('button', { name: 'Close' }).click();

  await page.getByRole('link', { name: 'Activity' }).click();
  const activity = page.getByRole('table', { name: 'Activity' });
  // The controller's own entries (propagation) may fall before or after a person's.
  await expect(activity.getByRole('row', { name: /ValuesReplaced/ })).toContainText('restarted 0');
  await expect(activity.getByRole('row', { name: /ValuesReplaced/ })).toContainText('bob');
  await expect(activity.getByRole('row', { name: /Renamed/ })).toContainText('bob');
  await expect(activity.getByRole('row', { name: /Created/ })).toContainText('bob');

  // The server's page alone: the tab is a link, its table rendered there.
  const noScript = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noScript.newPage();
  await signIn(plain, 'bob', undefined, keyhold.url);
  await plain.goto(`${detail}?tab=activity`);
  await expect(plain.getByRole('table', { name: 'Activity' }).getByRole('row', { name: /Renamed/ })).toContainText('bob');
  await noScript.close();
  leaks.expectNoneCameBack(log, 'HF_TOKEN', { planted: 2, bodies: 5 });
});

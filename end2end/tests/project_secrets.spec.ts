// A project's Settings > Secrets tab for an editor and a viewer, on a Keyhold of this file's own
// with its log captured: every value typed is a canary that must never come back.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startKeyhold, type Keyhold } from '../server';
import { Leaks } from './leaks';
import { DEMO_PASSWORD, signIn } from './session';

test.describe.configure({ mode: 'serial' });

let keyhold: Keyhold;
const log = join(mkdtempSync(join(tmpdir(), 'keyhold-project-secrets-')), 'keyhold.log');
const leaks = new Leaks();
const canary = (what: string) => leaks.canary(what);

test.beforeAll(async () => {
  keyhold = await startKeyhold(true, {}, log);
});
test.afterAll(async () => {
  await keyhold?.stop();
});

/** The value of one key of vision's secret, read with kubectl as an administrator would. */
function stored(key: string): string | undefined {
  const secret = JSON.parse(execFileSync('kubectl', ['--kubeconfig', keyhold.kubeconfig, 'get', 'secret', 'keyhold-project-secrets', '-n', 'vision', '-o', 'json'], { encoding: 'utf8' }));
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
}

async function openTab(page: Page, user: string) {
  leaks.watch(page);
  await signIn(page, user, DEMO_PASSWORD, keyhold.url);
  await page.goto(`${keyhold.url}/projects`);
  await page.locator('html[data-hydrated]').waitFor();
  // The demo's vision: its two credentials, research's and the cluster-wide one; and its keys.
  await expect(page.getByRole('row', { name: /^vision/ })).toHaveText(/vision\s*research\s*vision\s*4\s*\d+ keys?/);
  await page.getByRole('link', { name: 'Secrets of vision' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'vision: Secrets' })).toBeVisible();
}

const keys = (page: Page) => page.getByRole('table', { name: 'Secrets' }).locator('tbody td:first-child');
const addForm = (page: Page) => page.locator('form', { has: page.getByRole('heading', { name: 'Add secret' }) });

test('an editor adds, replaces, deletes and imports keys, and never sees a value', async ({ page }) => {
  await openTab(page, 'bob');
  await expect(keys(page)).toHaveText(['No secrets yet.']);

  const token = canary('token');
  await addForm(page).getByLabel('Key', { exact: true }).fill('bad key');
  await expect(page.getByText("Use only letters, digits, '-', '_' and '.'")).toBeVisible();
  await addForm(page).getByLabel('Key', { exact: true }).fill('API_TOKEN');
  await addForm(page).getByLabel('Value', { exact: true }).fill(token);
  await addForm(page).getByRole('button', { name: 'Add secret' }).click();
  await expect(keys(page)).toHaveText(['API_TOKEN']);
  // The form did what was asked: it is empty and quiet.
  await expect(addForm(page).getByLabel('Key', { exact: true })).toHaveValue('');
  await expect(addForm(page).getByLabel('Value', { exact: true })).toHaveValue('');
  await expect(addForm(page).locator('[aria-invalid="true"]')).toHaveCount(0);
  await expect(addForm(page).getByText('already exists')).toHaveCount(0);
  expect(stored('API_TOKEN')).toBe(token);

  await addForm(page).getByLabel('Key', { exact: true }).fill('API_TOKEN');
  await addForm(page).getByLabel('Value', { exact: true }).fill(canary('again'));
  await addForm(page).getByRole('button', { name: 'Add secret' }).click();
  await expect(page.getByText('This key already exists; replace its value instead')).toBeVisible();

  const rotated = canary('rotated');
  await page.getByRole('button', { name: 'Replace value of API_TOKEN' }).click();
  const replace = page.getByRole('dialog', { name: 'Replace the value of API_TOKEN' });
  await expect(replace.getByLabel('Value', { exact: true })).toHaveValue('');
  await replace.getByLabel('Value', { exact: true }).fill(rotated);
  await replace.getByRole('button', { name: 'Replace value' }).click();
  await expect(replace).toBeHidden();
  expect(stored('API_TOKEN')).toBe(rotated);

  // Import: a bad line writes nothing and is named; then the whole file in one write.
  const importText = page.getByLabel('Secrets (.env)', { exact: true });
  await importText.fill(`DB_URL=${canary('db')}\nthis is not a line\n`);
  await page.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByText('Line 2: expected KEY=VALUE')).toBeVisible();
  await expect(keys(page)).toHaveText(['API_TOKEN']);
  const env = `# exported from the notebook\nexport DB_URL="${canary('db-url')}"\nS3_SECRET='${canary('s3')}'\n`;
  await page.getByLabel('Upload a .env file').setInputFiles({ name: '.env', mimeType: 'text/plain', buffer: Buffer.from(env) });
  await expect(importText).toHaveValue(env);
  await page.getByRole('button', { name: 'Import' }).click();
  await expect(keys(page)).toHaveText(['API_TOKEN', 'DB_URL', 'S3_SECRET']);

  await page.getByRole('button', { name: 'Delete S3_SECRET' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete S3_SECRET' });
  await expect(confirm).toContainText('Delete the key S3_SECRET?');
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await expect(keys(page)).toHaveText(['API_TOKEN', 'DB_URL']);
  expect(stored('S3_SECRET')).toBeUndefined();

  await page.getByRole('link', { name: 'Projects' }).first().click();
  await expect(page.getByRole('link', { name: 'Secrets of vision' })).toHaveText('2 keys');
});

test('a viewer sees the key names only, and the server refuses their writes', async ({ page }) => {
  await openTab(page, 'carol');
  await expect(keys(page)).toHaveText(['API_TOKEN', 'DB_URL']);
  await expect(page.getByText('Your role shows the key names only')).toBeVisible();
  for (const name of ['Replace value of API_TOKEN', 'Delete API_TOKEN', 'Add secret', 'Import']) {
    await expect(page.getByRole('button', { name })).toHaveCount(0);
  }
  const direct = await page.request.post(`${keyhold.url}/api/add_project_secret`, {
    headers: { Origin: keyhold.url },
    data: { project: 'vision', entry: { key: 'SNEAKY', value: canary('viewer') } },
  });
  expect(direct.status()).toBe(403);
  leaks.record(await direct.text());
});

test('no value typed above ever came back, in any response or the log', async () => {
  leaks.expectNoneCameBack(log, 'DB_URL', { planted: 6, bodies: 10 });
});

// My credentials: bob keeps an NGC API key of his own for vision and nlp, on a Keyhold of this
// file's own with its log captured. alice (admin) and carol (viewer) never see it anywhere; its
// value and its name are canaries that must never reach them, and its value never anyone.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startKeyhold, type Keyhold } from '../server';
import { Leaks } from './leaks';
import { DEMO_PASSWORD, signIn } from './session';

test.describe.configure({ mode: 'serial' });

let keyhold: Keyhold;
const log = join(mkdtempSync(join(tmpdir(), 'keyhold-personal-')), 'keyhold.log');
const leaks = new Leaks();
const NAME = `Bob NGC ${Math.random().toString(36).slice(2, 8)}`;

test.beforeAll(async () => {
  keyhold = await startKeyhold(true, {}, log);
});
test.afterAll(async () => {
  await keyhold?.stop();
});

const kubectl = (args: string[]) => execFileSync('kubectl', ['--kubeconfig', keyhold.kubeconfig, ...args], { encoding: 'utf8' });

/** The projects holding a copy of bob's Secret `name` (the source in keyhold-system aside). */
function copies(name: string): string[] {
  const out = kubectl(['get', 'secrets', '-A', '-l', 'keyhold.dev/owner=bob', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}']);
  return out.split(/\s+/).filter((s) => s.endsWith(`/${name}`)).map((s) => s.split('/')[0]).filter((ns) => ns !== 'keyhold-system').sort();
}

function ngcKey(namespace: string, name: string): string {
  const secret = JSON.parse(kubectl(['get', 'secret', name, '-n', namespace, '-o', 'json']));
  return Buffer.from(secret.data.NGC_API_KEY, 'base64').toString();
}

async function open(page: Page, user: string, path: string) {
  leaks.watch(page);
  await signIn(page, user, DEMO_PASSWORD, keyhold.url);
  await page.goto(`${keyhold.url}${path}`);
  await page.locator('html[data-hydrated]').waitFor();
}

let secretName = '';

test('bob keeps an NGC API key of his own, copied where he picks and nowhere else', async ({ page }) => {
  await open(page, 'bob', '/credentials');
  await page.getByRole('link', { name: 'My credentials' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'My credentials' })).toBeVisible();
  await expect(page.getByText('Kubernetes RBAC on Secrets still decides who can read the copy')).toBeVisible();
  const form = page.locator('form', { has: page.getByRole('heading', { name: 'New personal credential' }) });
  // Only his projects are offered.
  await expect(form.getByRole('checkbox')).toHaveCount(2);
  await form.getByLabel('NGC API key', { exact: true }).first().check();
  await form.getByLabel('Name', { exact: true }).fill(NAME);
  await form.getByRole('checkbox', { name: 'vision' }).check();
  await form.getByRole('checkbox', { name: 'nlp' }).check();
  const key = leaks.canary('ngc');
  await form.getByRole('textbox', { name: 'NGC API key' }).fill(key);
  await form.getByRole('button', { name: 'Create personal credential' }).click();

  const row = page.getByRole('row', { name: new RegExp(NAME) });
  await expect(row).toContainText('vision: copied');
  await expect(row).toContainText('nlp: copied');
  secretName = (await row.getByRole('link', { name: NAME }).getAttribute('href'))!.split('/').pop()!;
  expect(copies(secretName)).toEqual(['nlp', 'vision']);
  expect(ngcKey('vision', secretName)).toBe(key);

  // New values on its own page, as for shared credentials.
  await row.getByRole('link', { name: NAME }).click();
  await page.getByRole('button', { name: 'Replace values' }).click();
  const replace = page.getByRole('dialog', { name: `Replace the values of ${NAME}` });
  const rotated = leaks.canary('ngc-rotated');
  await replace.getByLabel('NGC API key', { exact: true }).fill(rotated);
  await replace.getByRole('button', { name: 'Replace values' }).click();
  await expect(replace).toBeHidden();
  await expect.poll(() => ngcKey('nlp', secretName)).toBe(rotated);

  // nlp taken off the list: its copy goes.
  await page.goto(`${keyhold.url}/me/credentials`);
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('button', { name: `Change the projects of ${NAME}` }).click();
  const projects = page.getByRole('dialog', { name: `Projects of ${NAME}` });
  await projects.getByRole('checkbox', { name: 'nlp' }).uncheck();
  await projects.getByRole('button', { name: 'Save projects' }).click();
  await expect(projects).toBeHidden();
  await expect(page.getByRole('row', { name: new RegExp(NAME) })).not.toContainText('nlp');
  await expect.poll(() => copies(secretName)).toEqual(['vision']);
});

test('alice and carol never see it: not in the table, a search, the CSV, the REST API or by its address', async ({ browser }) => {
  for (const user of ['alice', 'carol']) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await open(page, user, '/credentials');
    await expect(page.getByRole('table', { name: 'Credentials' })).not.toContainText(NAME);
    await page.goto(`${keyhold.url}/credentials?q=${encodeURIComponent(NAME)}`);
    await expect(page.getByText('No credentials match')).toBeVisible();
    const csv = await page.request.get(`${keyhold.url}/credentials.csv`);
    expect(await csv.text()).not.toContain(NAME);
    const direct = await page.goto(`${keyhold.url}/credentials/keyhold-system/${secretName}`);
    expect(direct?.status()).toBe(404);
    await page.goto(`${keyhold.url}/me/credentials`);
    await expect(page.getByRole('heading', { level: 1, name: 'My credentials' })).toBeVisible();
    await expect(page.locator('main')).not.toContainText(NAME);
    const token = execFileSync(resolve(__dirname, '../../target/debug/keyhold'), ['user', 'token', user, '--cluster', 'kubeconfig'], {
      encoding: 'utf8',
      env: { ...process.env, KUBECONFIG: keyhold.kubeconfig },
    }).trim();
    for (const path of ['/credentials?per_page=100', `/credentials/keyhold-system/${secretName}`, `/me/credentials/${secretName}`, '/me/credentials']) {
      const response = await page.request.get(`${keyhold.url}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
      const text = await response.text();
      leaks.record(text);
      expect(text, `${user} ${path}`).not.toContain(NAME);
    }
    if (user === 'alice') {
      // An administrator sees how many bob keeps, never their names.
      await expect(page.getByRole('table', { name: 'Personal credentials per person' })).toContainText(/bob\s*1/);
    }
    await context.close();
  }
});

test('bob deletes it: its copies and its Secret go', async ({ page }) => {
  await open(page, 'bob', `/credentials/keyhold-system/${secretName}`);
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: `Delete ${NAME}` }).getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(`${keyhold.url}/me/credentials`);
  await expect(page.getByText('You have no credentials of your own yet.')).toBeVisible();
  await expect.poll(() => copies(secretName)).toEqual([]);
});

test('no value typed above ever came back, in any response or the log', async () => {
  leaks.expectNoneCameBack(log, 'My credentials', { planted: 2, bodies: 10 });
});

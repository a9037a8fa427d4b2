// Account scope in the browser (issue 20), on a Keyhold of this file's own with one member cluster
// ("east": another Keyhold's embedded cluster): the wizard offers "All clusters" above this
// cluster and east's own branch, the credential's page lists its copies per cluster, a member that stops shows "failed to
// access the cluster", and a deletion waits for it until an administrator lets go, with the page
// saying so (also without JavaScript).
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startKeyhold, type Keyhold } from '../server';
import { signIn } from './session';

test.describe.configure({ mode: 'serial' });

const NAME = 'Org-wide token';
let home: Keyhold;
let member: Keyhold;
let detail = '';

test.beforeAll(async () => {
  member = await startKeyhold(true);
  home = await startKeyhold(true, { KEYHOLD_CLUSTER_PROBE_INTERVAL: '1s', KEYHOLD_CONNECTION_TEST_ALLOW: '127.0.0.1/32' });
  const keyhold = join(resolve(__dirname, '../..'), 'target/debug/keyhold');
  const added = spawnSync(keyhold, ['cluster', 'add', 'east', '--kubeconfig', member.kubeconfig, '--cluster', 'kubeconfig'], { env: { ...process.env, KUBECONFIG: home.kubeconfig } });
  expect(added.status, added.stderr.toString()).toBe(0);
});
test.afterAll(async () => {
  await home?.stop();
  await member?.stop();
});

async function open(page: Page, path: string) {
  await page.goto(`${home.url}${path}`);
  await page.locator('html[data-hydrated]').waitFor();
}

/** The Propagation table's rows on the credential's page, read again until `check` holds. */
async function propagationShows(page: Page, check: (rows: string[]) => boolean, timeout = 30_000) {
  await expect(async () => {
    await page.goto(`${home.url}${detail}`);
    const rows = await page.getByRole('table', { name: 'Propagation' }).locator('tbody tr').allInnerTexts();
    expect(check(rows), rows.join('\n')).toBe(true);
  }).toPass({ timeout });
}

test('an administrator makes a credential for all clusters; its copies are listed per cluster', async ({ page }) => {
  await signIn(page, 'alice', undefined, home.url);
  // The member is probed every second; the Clusters page says when it is reached.
  await expect(async () => {
    await page.goto(`${home.url}/clusters`);
    await expect(page.getByRole('row', { name: /east/ })).toContainText('Reachable since', { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await open(page, '/credentials/new?type=generic');
  await page.getByRole('radio', { name: /^All clusters/ }).check();
  await page.getByLabel('Name', { exact: true }).fill(NAME);
  await page.getByLabel('Key', { exact: true }).fill('ORG_TOKEN');
  await page.getByLabel('Value', { exact: true }).fill('org-token-value');
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await expect(page.getByRole('heading', { level: 1, name: NAME })).toBeVisible();
  await expect(page.locator('dd', { hasText: 'All clusters' })).toHaveCount(1);
  detail = new URL(page.url()).pathname;
  // The member's demo projects, each copy Ready, beside this cluster's.
  await propagationShows(page, (rows) => ['etl', 'nlp', 'serving', 'vision'].every((p) => rows.some((r) => r.startsWith('east') && r.includes(p) && r.includes('No issues found'))) && rows.some((r) => r.startsWith('local')));
});

test("an administrator makes a credential for one of the member's projects, picked in its branch of the tree", async ({ page }) => {
  await signIn(page, 'alice', undefined, home.url);
  await open(page, '/credentials/new?type=generic');
  // The member's demo projects share this cluster's names: the radio is found in east's branch.
  const east = page.locator('li').filter({ has: page.getByRole('radio', { name: /^east/ }) }).last();
  await east.getByRole('radio', { name: /^vision/ }).check();
  await page.getByLabel('Name', { exact: true }).fill('Vision in east');
  await page.getByLabel('Key', { exact: true }).fill('EAST_TOKEN');
  await page.getByLabel('Value', { exact: true }).fill('east-token-value');
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Vision in east' })).toBeVisible();
  await expect(page.locator('dd', { hasText: 'east › research › vision' })).toHaveCount(1);
  const path = new URL(page.url()).pathname;
  // Copied into east's vision only: the source's row at home, one row in east.
  await expect(async () => {
    await page.goto(`${home.url}${path}`);
    const rows = await page.getByRole('table', { name: 'Propagation' }).locator('tbody tr').allInnerTexts();
    expect(rows.filter((r) => r.startsWith('east')).map((r) => r.split('\t')[1])).toEqual(['vision']);
    expect(rows.every((r) => r.includes('No issues found')), rows.join('\n')).toBe(true);
  }).toPass({ timeout: 30_000 });
});

test('the member stops: its copies show "failed to access the cluster", the others stay ready', async ({ page }) => {
  await signIn(page, 'alice', undefined, home.url);
  await member.stop();
  await propagationShows(page, (rows) => {
    const [east, local] = [rows.filter((r) => r.startsWith('east')), rows.filter((r) => r.startsWith('local'))];
    return east.length === 4 && east.every((r) => r.includes('failed to access the cluster')) && local.every((r) => r.includes('No issues found'));
  }, 60_000);
  await expect(page.locator('dd[role=status]')).toHaveText('Issues found');
});

test('deleting waits for the member until an administrator lets go of it', async ({ page, browser }) => {
  await signIn(page, 'alice', undefined, home.url);
  await open(page, detail);
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: `Delete ${NAME}` }).getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(`${home.url}/credentials`);
  await propagationShows(page, (rows) => rows.length === 1 && rows[0].startsWith('east') && rows[0].includes('cannot reach east'));

  // Rendered on the server: the page says what the deletion waits for without JavaScript.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const plainPage = await plain.newPage();
  await signIn(plainPage, 'alice', undefined, home.url);
  await plainPage.goto(`${home.url}${detail}`);
  await expect(plainPage.getByRole('table', { name: 'Propagation' })).toContainText('cannot reach east');
  await plain.close();

  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('button', { name: 'Let go of east' }).click();
  await expect(async () => {
    await open(page, '/credentials');
    await expect(page.getByRole('table', { name: 'Credentials' })).not.toContainText(NAME, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
});

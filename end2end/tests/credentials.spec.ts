// The Credentials table on the demo organisation: every toolbar feature, the state in the address,
// remembered columns, live status, paging and each role's view.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startKeyhold } from '../server';
import { DEMO_PASSWORD, signIn, url } from './session';

const DEMO = ['Docker Hub (vision)', 'Feature store database', 'Hugging Face (research)', 'S3 datasets', 'Weights & Biases'];

function kubectl(args: string[], input?: string): string {
  return execFileSync('kubectl', args, { encoding: 'utf8', input });
}

/** A Credential written straight to the cluster, as a GitOps tool would. */
function credentialManifest(namespace: string, name: string, displayName: string): string {
  return JSON.stringify({
    apiVersion: 'keyhold.dev/v1',
    kind: 'Credential',
    metadata: { name, namespace, annotations: { 'keyhold.dev/created-by': 'gitops' } },
    spec: {
      displayName,
      type: 'Generic',
      scope: { level: 'Project', project: namespace },
      secretRef: { name, managed: true },
    },
  });
}

async function openTable(page: Page, user: string, path = '/credentials') {
  await signIn(page, user);
  await page.goto(url(path));
  await page.locator('html[data-hydrated]').waitFor();
}

const table = (page: Page) => page.getByRole('table', { name: 'Credentials' });
const names = (page: Page) => table(page).locator('tbody tr td:first-child');

test('the table shows every column for the admin, readable as a real table', async ({ page }) => {
  await openTable(page, 'alice');
  const headers = table(page).locator('thead th[scope="col"]');
  await expect(headers).toHaveText(['Credential', 'Description', 'Type', 'Status', 'Data source(s)', 'Created by', 'Scope', 'Creation time', 'Cluster', 'Expires'].map((h) => new RegExp(`^${h.replace(/[()]/g, '\\$&')}`)));
  await expect(names(page)).toHaveText(DEMO);
  const docker = table(page).getByRole('row', { name: /Docker Hub \(vision\)/ });
  await expect(docker).toContainText('Docker registry');
  await expect(docker).toContainText('Deployment trainer');
  await expect(docker).toContainText('local › research › vision');
  await expect(docker.getByRole('link', { name: 'Docker Hub (vision)' })).toHaveAttribute('href', '/credentials/vision/docker-hub-vision');
  await expect(page.getByRole('link', { name: 'New credential' })).toBeVisible();
});

test('search applies as you type, lives in the address, and an empty result offers Clear filters', async ({ page }) => {
  await openTable(page, 'alice');
  await page.getByLabel('Search credentials').fill('hugging');
  await expect(page).toHaveURL(/q=hugging/);
  await expect(names(page)).toHaveText(['Hugging Face (research)']);
  // Key names are searched too.
  await page.getByLabel('Search credentials').fill('wandb_api');
  await expect(names(page)).toHaveText(['Weights & Biases']);
  await page.getByLabel('Search credentials').fill('nothing-is-called-this');
  await expect(page.getByRole('heading', { name: 'No credentials match' })).toBeVisible();
  await page.getByRole('link', { name: 'Clear filters' }).click();
  await expect(names(page)).toHaveText(DEMO);
  await expect(page.getByLabel('Search credentials')).toHaveValue('');
});

test('Add filter: value pickers and "contains", as removable chips', async ({ page }) => {
  await openTable(page, 'alice');
  await page.getByRole('button', { name: 'Add filter' }).click();
  await page.getByRole('button', { name: 'Type' }).click();
  await page.getByLabel('Access key').check();
  await page.getByLabel('Docker registry').check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByRole('list', { name: 'Filters' })).toContainText('Type: Access key, Docker registry');
  await expect(names(page)).toHaveText(['Docker Hub (vision)', 'S3 datasets']);
  await expect(page).toHaveURL(/type=Access%20key&type=Docker%20registry/);

  await page.getByRole('button', { name: 'Add filter' }).click();
  await page.getByRole('button', { name: 'Description' }).click();
  await page.getByLabel('Description contains').fill('CORPORA');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(names(page)).toHaveText(['S3 datasets']);

  await page.getByRole('link', { name: 'Remove filter Type' }).click();
  await expect(names(page)).toHaveText(['S3 datasets']);
  await page.getByRole('link', { name: 'Remove filter Description' }).click();
  await expect(names(page)).toHaveText(DEMO);
  await expect(page.getByRole('list', { name: 'Filters' })).toHaveCount(0);
});

test('headers sort ascending, descending, then off, shown with aria-sort; Back returns', async ({ page }) => {
  await openTable(page, 'alice');
  const typeHeader = table(page).locator('th', { hasText: 'Type' });
  await typeHeader.getByRole('link').click();
  await expect(typeHeader).toHaveAttribute('aria-sort', 'ascending');
  // By the type's label: Access key, Docker registry, Generic secret, Username & password.
  await expect(names(page).first()).toHaveText('S3 datasets');
  await expect(page).toHaveURL(/sort=type$/);
  await typeHeader.getByRole('link').click();
  await expect(typeHeader).toHaveAttribute('aria-sort', 'descending');
  await expect(names(page).first()).toHaveText('Feature store database');
  await typeHeader.getByRole('link').click();
  await expect(typeHeader).not.toHaveAttribute('aria-sort', /.+/);
  await expect(names(page)).toHaveText(DEMO);
  await page.goBack();
  await expect(typeHeader).toHaveAttribute('aria-sort', 'descending');
  await page.goBack();
  await expect(typeHeader).toHaveAttribute('aria-sort', 'ascending');
});

test('a shared link opens the same table, rendered in full on the server', async ({ page, browser }) => {
  await signIn(page, 'alice');
  const shared = '/credentials?type=Generic%20secret&sort=credential&order=desc';
  // Without JavaScript: the server's HTML alone has the filtered, sorted rows.
  const html = await (await page.request.get(url(shared))).text();
  expect(html.indexOf('Weights &amp; Biases')).toBeGreaterThan(-1);
  expect(html.indexOf('Weights &amp; Biases')).toBeLessThan(html.indexOf('Hugging Face (research)'));
  expect(html).not.toContain('S3 datasets</a>');
  const noScript = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() });
  const plain = await noScript.newPage();
  await plain.goto(url(shared));
  await expect(plain.getByRole('table', { name: 'Credentials' }).locator('tbody tr td:first-child')).toHaveText(['Weights & Biases', 'Hugging Face (research)']);
  await noScript.close();
  await page.goto(url(shared));
  await expect(names(page)).toHaveText(['Weights & Biases', 'Hugging Face (research)']);
  await expect(page.getByRole('list', { name: 'Filters' })).toContainText('Type: Generic secret');
});

test('Columns hides a column, and the choice is remembered across reloads and sessions', async ({ page, browser }) => {
  // A user of its own, so hiding columns cannot disturb the other tests.
  const binary = resolve(__dirname, '../../target/debug/keyhold');
  const password = execFileSync(binary, ['user', 'add', 'hana', '--groups', 'platform-admins', '--cluster', 'kubeconfig'], { encoding: 'utf8' }).trim();
  await signIn(page, 'hana', password);
  await page.goto(url('/credentials'));
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('button', { name: 'Columns' }).click();
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/hide_columns') && r.ok());
  await page.getByRole('checkbox', { name: 'Description' }).uncheck();
  await saved;
  await expect(table(page).locator('thead th', { hasText: 'Description' })).toHaveCount(0);
  await page.reload();
  await expect(table(page).locator('thead th', { hasText: 'Description' })).toHaveCount(0);
  await expect(table(page).locator('thead th', { hasText: 'Type' })).toHaveCount(1);

  const other = await browser.newContext();
  const again = await other.newPage();
  await signIn(again, 'hana', password);
  await again.goto(url('/credentials'));
  await expect(table(again).locator('thead th', { hasText: 'Description' })).toHaveCount(0);
  await other.close();
});

test('Kubernetes name is shown from Columns, and Download CSV downloads the current view in its columns', async ({ page }) => {
  // A user of its own: showing a column is remembered, and other tests expect the defaults.
  const binary = resolve(__dirname, '../../target/debug/keyhold');
  const password = execFileSync(binary, ['user', 'add', 'kira', '--groups', 'platform-admins', '--cluster', 'kubeconfig'], { encoding: 'utf8' }).trim();
  await signIn(page, 'kira', password);
  await page.goto(url('/credentials?type=Generic%20secret&sort=credential&order=desc'));
  await page.locator('html[data-hydrated]').waitFor();
  const header = table(page).locator('thead th', { hasText: 'Kubernetes name' });
  await expect(header).toHaveCount(0);
  await page.getByRole('button', { name: 'Columns' }).click();
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/hide_columns') && r.ok());
  await page.getByRole('checkbox', { name: 'Kubernetes name' }).check();
  await saved;
  await page.keyboard.press('Escape');
  await expect(header).toHaveCount(1);
  await expect(table(page).getByRole('row', { name: /Weights & Biases/ })).toContainText(/keyhold-system\/weights-biases\s*Secret /);

  const link = page.getByRole('link', { name: 'Download CSV' });
  await expect(link).toHaveAttribute('href', /type=Generic%20secret&sort=credential&order=desc&columns=credential,kubernetes_name,description,/);
  const downloading = page.waitForEvent('download');
  await link.click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('credentials.csv');
  const lines = readFileSync(await download.path(), 'utf8').trimEnd().split('\r\n');
  expect(lines[0]).toBe('Credential,Kubernetes name,Description,Type,Status,Data source(s),Created by,Scope,Creation time,Cluster,Expires');
  expect(lines.slice(1).map((line) => line.split(',').slice(0, 2))).toEqual([
    ['Weights & Biases', expect.stringMatching(/^keyhold-system\/weights-biases \(Secret /)],
    ['Hugging Face (research)', expect.stringMatching(/^keyhold-system\/hugging-face-research \(Secret /)],
  ]);
});

test('Refresh re-reads and says when', async ({ page }) => {
  await openTable(page, 'alice');
  const updated = page.locator('p', { hasText: 'Last updated' }).locator('time');
  const before = await updated.getAttribute('datetime');
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(updated).not.toHaveAttribute('datetime', before ?? '', { timeout: 1_000 });
  }).toPass();
});

test('status changes appear on their own, with the detail on focus', async ({ page }) => {
  await openTable(page, 'alice');
  kubectl(['apply', '-f', '-'], credentialManifest('etl', 'live-probe', 'Live probe'));
  const row = table(page).getByRole('row', { name: /Live probe/ });
  await expect(row.getByRole('button', { name: 'Issues found' })).toBeVisible();
  await row.getByRole('button', { name: 'Issues found' }).focus();
  await expect(row.getByRole('tooltip')).toBeVisible();
  await expect(row.getByRole('tooltip')).toContainText('etl: Issues found: the Secret live-probe does not exist');

  kubectl(['create', 'secret', 'generic', 'live-probe', '-n', 'etl', '--from-literal=TOKEN=canary-live-probe']);
  // Not made by Keyhold for it: usable once labelled as offered for its type.
  kubectl(['label', 'secret', 'live-probe', '-n', 'etl', 'keyhold.dev/resource=generic']);
  await expect(row.getByRole('button', { name: 'No issues found' })).toBeVisible();
  kubectl(['delete', 'credential', 'live-probe', '-n', 'etl', '--wait=true']);
  await expect(row).toHaveCount(0);
});

test('the server cuts pages of 25, 50 or 100 rows', async ({ page }) => {
  const manifests = Array.from({ length: 30 }, (_, i) => credentialManifest('serving', `paging-${i}`, `Paging ${String(i).padStart(2, '0')}`));
  kubectl(['apply', '-f', '-'], manifests.join('\n---\n'));
  try {
    await openTable(page, 'alice', '/credentials?q=paging');
    await expect(page.getByText('1–25 of 30')).toBeVisible();
    await expect(names(page)).toHaveCount(25);
    await page.getByRole('link', { name: 'Next page' }).click();
    await expect(page.getByText('26–30 of 30')).toBeVisible();
    await expect(names(page)).toHaveText(['Paging 25', 'Paging 26', 'Paging 27', 'Paging 28', 'Paging 29']);
    await expect(page).toHaveURL(/page=2/);
    await page.getByRole('link', { name: '50' }).click();
    await expect(page.getByText('1–30 of 30')).toBeVisible();
    await expect(page).toHaveURL(/per_page=50/);
  } finally {
    kubectl(['delete', 'credentials', '-n', 'serving', '--all']);
  }
});

test('each role sees the credentials it may list; only those who may create are offered to', async ({ page, browser }) => {
  // bob edits vision and nlp: their credentials, and the wider ones that reach them.
  await openTable(page, 'bob');
  await expect(names(page)).toHaveText(DEMO);
  await expect(page.getByRole('link', { name: 'New credential' })).toBeVisible();

  // carol views vision: not nlp's S3 datasets, and no way to create.
  const other = await browser.newContext();
  const carol = await other.newPage();
  await openTable(carol, 'carol');
  await expect(names(carol)).toHaveText(['Docker Hub (vision)', 'Feature store database', 'Hugging Face (research)', 'Weights & Biases']);
  await expect(carol.getByRole('link', { name: 'New credential' })).toHaveCount(0);
  await carol.getByRole('button', { name: 'Add filter' }).click();
  await carol.getByRole('button', { name: 'Created by' }).click();
  await expect(carol.getByRole('dialog', { name: 'Add filter' }).getByRole('checkbox')).toHaveCount(1);
  await other.close();
});

test('when the Kubernetes API goes away, a banner says so over the rows last read, with Retry', async ({ page }) => {
  test.setTimeout(60_000); // two servers of its own start first
  // A cluster of its own to take away: one Keyhold serves it, a second reads through it.
  const upstream = await startKeyhold(true);
  const keyhold = await startKeyhold(false, { KUBECONFIG: upstream.kubeconfig });
  try {
    await signIn(page, 'alice', DEMO_PASSWORD, keyhold.url);
    await page.goto(`${keyhold.url}/credentials`);
    await page.locator('html[data-hydrated]').waitFor();
    await expect(names(page)).toHaveText(DEMO);
    await upstream.stop();
    const banner = page.getByRole('alert').filter({ hasText: 'Could not load credentials' });
    await expect(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect(banner).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await expect(banner).toContainText('The Kubernetes API did not answer');
    await expect(banner).toContainText(/Showing data from \d\d:\d\d:\d\d UTC/);
    await expect(banner.getByRole('button', { name: 'Retry' })).toBeVisible();
    await expect(names(page)).toHaveText(DEMO);
  } finally {
    await keyhold.stop();
    await upstream.stop();
  }
});

for (const width of [1280, 1440]) {
  test(`at ${width} px every visible column shows, or the table says it scrolls`, async ({ page }) => {
    await page.setViewportSize({ width, height: 900 });
    await openTable(page, 'alice');
    await expect(names(page).first()).toBeVisible();
    const frame = page.getByTestId('table-frame');
    const shown = await frame.boundingBox();
    const headers = table(page).locator('thead th');
    const cut: string[] = [];
    for (const header of await headers.all()) {
      const box = await header.boundingBox();
      if (box && shown && box.x + box.width > shown.x + shown.width + 1) cut.push((await header.innerText()).trim());
    }
    if (cut.length > 0) {
      // Columns past the edge: the frame scrolls, and says so where it can be seen.
      await expect(page.getByText('Scroll sideways for more columns')).toBeVisible();
    }
    expect(await frame.evaluate((f) => f.scrollWidth > f.clientWidth)).toBe(cut.length > 0);
  });
}

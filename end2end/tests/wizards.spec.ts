// Creating credentials with the wizards, and renaming, replacing the values of and deleting them, on
// a Keyhold of this file's own (the other files count the demo credentials). Every value typed here
// is a canary: the last test checks that none ever came back, in any response or in the log.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startKeyhold, type Keyhold } from '../server';
import { Leaks } from './leaks';
import { DEMO_PASSWORD, signIn } from './session';

test.describe.configure({ mode: 'serial' });

let keyhold: Keyhold;
const log = join(mkdtempSync(join(tmpdir(), 'keyhold-wizards-')), 'keyhold.log');
const leaks = new Leaks();
const canary = (what: string) => leaks.canary(what);

test.beforeAll(async () => {
  keyhold = await startKeyhold(true, {}, log);
});
test.afterAll(async () => {
  await keyhold?.stop();
});

function kubectl(args: string[], input?: string): string {
  return execFileSync('kubectl', ['--kubeconfig', keyhold.kubeconfig, ...args], { encoding: 'utf8', input });
}

/** Signs `user` in and keeps every response body the page receives. */
async function as(page: Page, user: string) {
  leaks.watch(page);
  await signIn(page, user, DEMO_PASSWORD, keyhold.url);
}

async function open(page: Page, path: string) {
  await page.goto(`${keyhold.url}${path}`);
  await page.locator('html[data-hydrated]').waitFor();
}

/** Opens the wizard of one type from the Credentials page, as a person would. */
async function startWizard(page: Page, type: string) {
  await open(page, '/credentials');
  await page.getByRole('link', { name: 'New credential' }).click();
  await page.getByRole('link', { name: new RegExp(`^${type}`) }).click();
  await expect(page.getByRole('button', { name: 'Create credentials' })).toBeVisible();
  await page.locator('html[data-hydrated]').waitFor();
}

const field = (page: Page, label: string) => page.getByLabel(label, { exact: true });
const status = (page: Page) => page.locator('dd[role="status"]');

async function nameAndScope(page: Page, name: string, scope: RegExp) {
  await page.getByRole('radio', { name: scope }).check();
  await field(page, 'Name').fill(name);
  await field(page, 'Description').fill(`Made by the wizard test: ${name}`);
}

async function created(page: Page, name: string, keys: string) {
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(status(page)).toHaveText('No issues found');
  await expect(page.locator('dd', { hasText: keys })).toHaveCount(1);
}

test('the admin makes one credential of every type, at project, department and cluster scope', async ({ page }) => {
  await as(page, 'alice');
  await open(page, '/credentials/new');
  for (const type of ['Docker registry', 'Access key', 'Username & password', 'Generic secret', 'TLS', 'NGC API key']) {
    await expect(page.getByRole('link', { name: new RegExp(`^${type}`) })).toBeVisible();
  }

  await startWizard(page, 'Docker registry');
  // The tree offers every scope to the admin.
  for (const scope of [/^local/, /^research/, /^production/, /^vision/, /^etl/]) await expect(page.getByRole('radio', { name: scope })).toBeVisible();
  await nameAndScope(page, 'GHCR (vision)', /^vision/);
  await field(page, 'Registry URL').fill('ghcr.io');
  await field(page, 'Username').fill('vision-bot');
  await field(page, 'Password').fill(canary('docker'));
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await expect(page).toHaveURL(`${keyhold.url}/credentials/vision/ghcr-vision`);
  await created(page, 'GHCR (vision)', '.dockerconfigjson');

  await startWizard(page, 'Access key');
  await nameAndScope(page, 'MinIO (research)', /^research/);
  await field(page, 'Access key ID').fill('AKIARESEARCH');
  await field(page, 'Secret access key').fill(canary('access'));
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await created(page, 'MinIO (research)', 'AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY');
  // Copied to both research projects.
  for (const project of ['nlp', 'vision']) {
    await expect(page.getByRole('table', { name: 'Propagation' }).getByRole('row', { name: new RegExp(`^${project}`) })).toContainText('No issues found');
  }

  await startWizard(page, 'Username & password');
  await nameAndScope(page, 'Grafana admin', /^local/);
  await field(page, 'Username').fill('admin');
  await field(page, 'Password').fill(canary('password'));
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await created(page, 'Grafana admin', 'password, username');

  await startWizard(page, 'Generic secret');
  await nameAndScope(page, 'Serving tokens', /^serving/);
  await field(page, 'Key').fill('API_TOKEN');
  await field(page, 'Value').fill(canary('generic-1'));
  await page.getByRole('button', { name: '+ Key & value' }).click();
  await field(page, 'Key').nth(1).fill('WEBHOOK_SECRET');
  await field(page, 'Value').nth(1).fill(canary('generic-2'));
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await created(page, 'Serving tokens', 'API_TOKEN, WEBHOOK_SECRET');

  // Kubernetes holds what was typed: the values reached the Secret.
  const secret = JSON.parse(kubectl(['get', 'secret', 'serving-tokens', '-n', 'serving', '-o', 'json']));
  expect(Buffer.from(secret.data.WEBHOOK_SECRET, 'base64').toString()).toBe(leaks.last());

  await startWizard(page, 'NGC API key');
  await nameAndScope(page, 'NGC (nlp)', /^nlp/);
  await field(page, 'NGC API key').fill(canary('ngc'));
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await created(page, 'NGC (nlp)', '.dockerconfigjson, NGC_API_KEY');
  // One Secret for both uses: the key for workloads, and a pull secret for nvcr.io.
  await expect(page.getByRole('heading', { name: 'Pulling images (imagePullSecrets)' })).toBeVisible();
  const ngc = JSON.parse(kubectl(['get', 'secret', 'ngc-nlp', '-n', 'nlp', '-o', 'json']));
  expect(ngc.type).toBe('kubernetes.io/dockerconfigjson');
  expect(Buffer.from(ngc.data.NGC_API_KEY, 'base64').toString()).toBe(leaks.last());
  const login = JSON.parse(Buffer.from(ngc.data['.dockerconfigjson'], 'base64').toString()).auths['nvcr.io'];
  expect([login.username, login.password]).toEqual(['$oauthtoken', leaks.last()]);
});

test('rules are checked as you type, values hide and show, and a double press creates one', async ({ page }) => {
  await as(page, 'alice');
  await startWizard(page, 'Generic secret');
  await field(page, 'Name').fill('S3 datasets');
  await expect(page.getByText('A credential named S3 datasets already exists')).toBeVisible();
  await field(page, 'Name').fill('Duplicate keys');
  await expect(page.getByText('already exists')).toHaveCount(0);
  await field(page, 'Key').fill('bad key');
  await expect(page.getByText("Use only letters, digits, '-', '_' and '.'")).toBeVisible();
  await field(page, 'Key').fill('TOKEN');
  await page.getByRole('button', { name: '+ Key & value' }).click();
  await field(page, 'Key').nth(1).fill('TOKEN');
  await expect(page.getByText('This key is already used in an earlier row')).toBeVisible();
  await page.getByRole('button', { name: 'Remove row 2' }).click();
  await expect(field(page, 'Key')).toHaveCount(1);

  // Nothing goes to the server while a rule is broken: the scope is still unpicked.
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await expect(page.getByText('Pick a scope')).toBeVisible();

  const value = field(page, 'Value');
  await value.fill(canary('toggle'));
  await expect(value).toHaveAttribute('type', 'password');
  await page.getByRole('button', { name: 'Show Value' }).click();
  await expect(value).toHaveAttribute('type', 'text');
  await page.getByRole('button', { name: 'Show Value' }).click();
  await expect(value).toHaveAttribute('type', 'password');

  await page.getByRole('radio', { name: /^nlp/ }).check();
  await page.getByRole('button', { name: 'Create credentials' }).dblclick();
  await expect(page).toHaveURL(`${keyhold.url}/credentials/nlp/duplicate-keys`);
  expect(kubectl(['get', 'creds', '-n', 'nlp', '-o', 'name']).split('\n').filter((n) => n.includes('duplicate-keys'))).toEqual(['credential.keyhold.dev/duplicate-keys']);
});

test('an existing secret is offered once labelled, and the wizard says which labels offer one', async ({ page }) => {
  await as(page, 'alice');
  await startWizard(page, 'Username & password');
  await nameAndScope(page, 'Warehouse login', /^etl/);
  await page.getByRole('radio', { name: 'Existing secret' }).check();
  const none = page.getByRole('status').filter({ hasText: 'No existing username & password secret is offered for this scope' });
  await expect(none).toContainText('in the namespace etl');
  await expect(none).toContainText('keyhold.dev/resource: "password"');

  kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/basic-auth',
    metadata: { name: 'warehouse-login', namespace: 'etl', labels: { 'keyhold.dev/resource': 'password' } },
    stringData: { username: 'etl', password: canary('existing') },
  }));
  // Picking the scope again reads the offer again.
  await page.getByRole('radio', { name: /^serving/ }).check();
  await page.getByRole('radio', { name: /^etl/ }).check();
  await expect(field(page, 'Secret')).toHaveValue('warehouse-login');
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await created(page, 'Warehouse login', 'password, username');
  await expect(page.locator('dd', { hasText: 'etl/warehouse-login' })).toHaveCount(1);

  // Cluster-wide: a Secret of the system namespace labelled for it, copied to every project.
  kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: 'shared-object-store', namespace: 'keyhold-system', labels: { 'keyhold.dev/resource': 'access-key', 'keyhold.dev/cluster-wide': 'true' } },
    stringData: { AWS_ACCESS_KEY_ID: 'AKIASHARED', AWS_SECRET_ACCESS_KEY: canary('existing-wide') },
  }));
  await startWizard(page, 'Access key');
  await nameAndScope(page, 'Shared object store', /^local/);
  await page.getByRole('radio', { name: 'Existing secret' }).check();
  await expect(field(page, 'Secret')).toHaveValue('shared-object-store');
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await created(page, 'Shared object store', 'AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY');
  for (const project of ['vision', 'nlp', 'serving', 'etl']) {
    await expect(page.getByRole('table', { name: 'Propagation' }).getByRole('row', { name: new RegExp(`^${project}`) })).toContainText('No issues found');
  }
});

test('the editor is offered only their projects; the viewer can neither create nor change', async ({ page, browser }) => {
  await as(page, 'bob');
  await startWizard(page, 'Access key');
  await expect(page.getByRole('radio')).toHaveCount(4); // vision, nlp, and New / Existing secret
  await expect(page.getByRole('radio', { name: /^vision/ })).toBeVisible();
  await expect(page.getByRole('radio', { name: /^nlp/ })).toBeVisible();
  await expect(page.getByText('research', { exact: false }).first()).toBeVisible(); // the path, not a choice
  await open(page, '/credentials/vision/feature-store-database');
  await expect(page.getByRole('button', { name: 'Rename' })).toBeVisible();

  const viewer = await browser.newPage();
  await as(viewer, 'carol');
  await open(viewer, '/credentials/vision/feature-store-database');
  await expect(viewer.getByRole('heading', { level: 1, name: 'Feature store database' })).toBeVisible();
  for (const action of ['Rename', 'Replace values', 'Delete']) await expect(viewer.getByRole('button', { name: action })).toHaveCount(0);
  const forbidden = await viewer.goto(`${keyhold.url}/credentials/new`);
  expect(forbidden?.status()).toBe(403);
  // Calling the server function directly is refused too.
  const direct = await viewer.request.post(`${keyhold.url}/api/create_credential`, {
    headers: { Origin: keyhold.url },
    data: { request: { displayName: 'Sneaky', description: '', scope: { level: 'Project', project: 'vision' }, values: { type: 'Password', username: 'u', password: canary('viewer') } } },
  });
  expect(direct.status()).toBe(403);
  leaks.record(await direct.text());
  await viewer.close();
});

test('rename and replace values in dialogs; delete is refused while in use and works after', async ({ page }) => {
  await as(page, 'alice');
  await open(page, '/credentials/vision/ghcr-vision');
  await page.getByRole('button', { name: 'Rename' }).click();
  const rename = page.getByRole('dialog', { name: 'Rename GHCR (vision)' });
  await rename.getByLabel('Name', { exact: true }).fill('GitHub registry (vision)');
  await rename.getByRole('button', { name: 'Save' }).click();
  await expect(rename).toBeHidden();
  await expect(page.getByRole('heading', { level: 1, name: 'GitHub registry (vision)' })).toBeVisible();

  await page.getByRole('button', { name: 'Replace values' }).click();
  const replace = page.getByRole('dialog', { name: 'Replace the values of GitHub registry (vision)' });
  // Never prefilled: the fields start empty.
  await expect(replace.getByLabel('Password', { exact: true })).toHaveValue('');
  await replace.getByLabel('Registry URL', { exact: true }).fill('ghcr.io');
  await replace.getByLabel('Username', { exact: true }).fill('vision-bot-2');
  await replace.getByLabel('Password', { exact: true }).fill(canary('replaced'));
  await replace.getByRole('button', { name: 'Replace values' }).click();
  await expect(replace).toBeHidden();
  const secret = JSON.parse(kubectl(['get', 'secret', 'ghcr-vision', '-n', 'vision', '-o', 'json']));
  expect(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString()).toContain(leaks.last());

  // The demo trainer pulls with Docker Hub (vision): the dialog names it and offers no Delete.
  await open(page, '/credentials/vision/docker-hub-vision');
  await page.getByRole('button', { name: 'Delete' }).click();
  const blocked = page.getByRole('dialog', { name: 'Delete Docker Hub (vision)' });
  await expect(blocked).toContainText('is in use and cannot be deleted');
  await expect(blocked).toContainText('Deployment/vision/trainer');
  await expect(blocked.getByRole('button', { name: 'Delete', exact: true })).toHaveCount(0);
  await blocked.getByRole('button', { name: 'Close' }).click();

  await open(page, '/credentials/vision/ghcr-vision');
  await page.getByRole('button', { name: 'Delete' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete GitHub registry (vision)' });
  await expect(confirm).toContainText('Delete GitHub registry (vision)?');
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(`${keyhold.url}/credentials`);
  await expect(page.getByRole('link', { name: 'GitHub registry (vision)' })).toHaveCount(0);
});

test('a TLS credential needs a readable certificate and its own key', async ({ page }) => {
  const fixture = (name: string) => readFileSync(join(__dirname, '../../tests/fixtures/tls', name), 'utf8');
  const key = fixture('ec.key');
  leaks.plant(key);
  await as(page, 'alice');
  await startWizard(page, 'TLS');
  await nameAndScope(page, 'Inference gateway TLS', /^serving/);
  await field(page, 'Certificate').fill('not a certificate');
  await expect(page.getByText('Paste the certificate in PEM form')).toBeVisible();
  await field(page, 'Certificate').fill(fixture('ec.crt'));
  await field(page, 'Private key').fill(fixture('other-ec.key'));
  await expect(page.getByText('The private key does not match the certificate')).toBeVisible();
  await expect(field(page, 'Private key')).toHaveAttribute('style', /text-security: disc/);
  await field(page, 'Private key').fill(key);
  await expect(page.getByText('The private key does not match the certificate')).toHaveCount(0);
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await created(page, 'Inference gateway TLS', 'tls.crt, tls.key');
  const secret = JSON.parse(kubectl(['get', 'secret', 'inference-gateway-tls', '-n', 'serving', '-o', 'json']));
  expect(secret.type).toBe('kubernetes.io/tls');
  expect(Buffer.from(secret.data['tls.key'], 'base64').toString()).toBe(key);
});

test('a Secret as kubectl prints it, pasted as JSON or uploaded as YAML, opens its wizard filled in', async ({ page }) => {
  await as(page, 'alice');
  const password = canary('file-docker');
  const json = kubectl(['create', 'secret', 'docker-registry', 'quay-robot', '--docker-server=quay.io', '--docker-username=robot', `--docker-password=${password}`, '--dry-run=client', '-o', 'json']);
  await open(page, '/credentials/new');
  await page.getByLabel('Secret (JSON or YAML)').fill(json);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New docker registry credential' })).toBeVisible();
  await expect(page.getByRole('note')).toContainText('kubernetes.io/dockerconfigjson');
  await expect(field(page, 'Name')).toHaveValue('quay-robot');
  await expect(field(page, 'Registry URL')).toHaveValue('quay.io');
  await expect(field(page, 'Username')).toHaveValue('robot');
  await expect(field(page, 'Password')).toHaveAttribute('type', 'password');
  await page.getByRole('radio', { name: /^nlp/ }).check();
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await created(page, 'quay-robot', '.dockerconfigjson');
  const docker = JSON.parse(kubectl(['get', 'secret', 'quay-robot', '-n', 'nlp', '-o', 'json']));
  expect(Buffer.from(docker.data['.dockerconfigjson'], 'base64').toString()).toContain(password);

  const yaml = kubectl(['create', 'secret', 'generic', 'etl-tokens', `--from-literal=SOURCE_TOKEN=${canary('file-1')}`, `--from-literal=SINK_TOKEN=${canary('file-2')}`, '--dry-run=client', '-o', 'yaml']);
  await open(page, '/credentials/new');
  await page.getByLabel('Upload a file').setInputFiles({ name: 'etl-tokens.yaml', mimeType: 'application/yaml', buffer: Buffer.from(yaml) });
  await expect(page.getByLabel('Secret (JSON or YAML)')).toHaveValue(yaml);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New generic secret credential' })).toBeVisible();
  await expect(field(page, 'Key')).toHaveCount(2);
  await expect(field(page, 'Key').first()).toHaveValue('SINK_TOKEN');
  await page.getByRole('radio', { name: /^etl/ }).check();
  await page.getByRole('button', { name: 'Create credentials' }).click();
  await created(page, 'etl-tokens', 'SINK_TOKEN, SOURCE_TOKEN');

  // What is not a Secret is refused, saying why.
  await open(page, '/credentials/new');
  await page.getByLabel('Secret (JSON or YAML)').fill('kind: ConfigMap\ndata:\n  a: b\n');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByText('This is not a Secret (its kind is something else)')).toBeVisible();
});

test('no value planted above ever came back: not in a page, a server function, the API or the log', async ({ request }) => {
  // The API's view of every credential, as a token holder sees it.
  const token = execFileSync(join(__dirname, '../../target/debug/keyhold'), ['user', 'token', 'alice', '--cluster', 'kubeconfig'], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: keyhold.kubeconfig },
  }).trim();
  for (const path of ['/api/v1/credentials?per_page=100', '/api/v1/credentials/serving/serving-tokens']) {
    const response = await request.get(`${keyhold.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    leaks.record(await response.text());
  }
  leaks.expectNoneCameBack(log, 'WEBHOOK_SECRET', { planted: 9, bodies: 50 });
});

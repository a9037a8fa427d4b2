// Delete with a replacement, on a Keyhold of this file's own: Docker Hub (vision) is pulled with
// by the demo's trainer; bob replaces it with another registry credential, sees the change first,
// and the trainer's imagePullSecrets then names the new Secret, after which the old one is gone.
import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { startKeyhold, type Keyhold } from '../server';
import { DEMO_PASSWORD, signIn } from './session';

let keyhold: Keyhold;
const kubectl = (args: string[]) => execFileSync('kubectl', ['--kubeconfig', keyhold.kubeconfig, ...args], { encoding: 'utf8' });

test.beforeAll(async () => {
  keyhold = await startKeyhold(true);
  // Bob's group runs vision's workloads, as a cluster administrator would grant it.
  kubectl(['create', 'role', 'workloads', '-n', 'vision', '--verb=get,list,patch', '--resource=deployments.apps']);
  kubectl(['create', 'rolebinding', 'research-workloads', '-n', 'vision', '--role=workloads', '--group=research']);
});
test.afterAll(async () => {
  await keyhold?.stop();
});

test('an in-use registry credential is replaced in the workloads, then deleted', async ({ page }) => {
  await signIn(page, 'bob', DEMO_PASSWORD, keyhold.url);
  const created = await page.request.post(`${keyhold.url}/api/create_credential`, {
    headers: { Origin: keyhold.url },
    data: { request: { displayName: 'GHCR (vision)', description: '', scope: { level: 'Project', project: 'vision' }, values: { type: 'DockerRegistry', registry: 'ghcr.io', username: 'bot', password: 'p' } } },
  });
  expect(created.status()).toBe(200);
  await page.goto(`${keyhold.url}/credentials/vision/docker-hub-vision`);
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete Docker Hub (vision)' });
  await expect(dialog).toContainText('Deployment/vision/trainer');
  await dialog.getByLabel('Replace with').selectOption({ label: 'GHCR (vision) (local › research › vision)' });
  await dialog.getByRole('button', { name: 'Show the changes' }).click();
  await expect(dialog.getByRole('list', { name: 'Changes' })).toContainText('"path": "/spec/template/spec/imagePullSecrets/0/name"');
  await expect(dialog.getByRole('list', { name: 'Changes' })).toContainText('"value": "ghcr-vision"');
  await dialog.getByRole('button', { name: 'Replace and delete' }).click();
  await expect(page).toHaveURL(`${keyhold.url}/credentials`);
  await expect(page.getByRole('link', { name: 'Docker Hub (vision)' })).toHaveCount(0);
  expect(kubectl(['get', 'deployment', 'trainer', '-n', 'vision', '-o', 'jsonpath={.spec.template.spec.imagePullSecrets[0].name}'])).toBe('ghcr-vision');
});

test('a viewer is offered no replacement, and the server refuses one', async ({ page }) => {
  await signIn(page, 'carol', DEMO_PASSWORD, keyhold.url);
  await page.goto(`${keyhold.url}/credentials/vision/ghcr-vision`);
  await page.locator('html[data-hydrated]').waitFor();
  await expect(page.getByRole('button', { name: 'Delete' })).toHaveCount(0);
  const direct = await page.request.post(`${keyhold.url}/api/replace_credential`, {
    headers: { Origin: keyhold.url },
    data: { namespace: 'vision', name: 'ghcr-vision', with: { namespace: 'vision', name: 'feature-store-database' }, apply: true },
  });
  expect(direct.status()).toBe(403);
});

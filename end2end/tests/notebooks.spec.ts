// "Offer to notebooks" with Kubeflow's PodDefault served: bob offers research's Hugging Face
// credential and a PodDefault appears in vision and nlp; carol is offered nothing and refused.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { signIn, url } from './session';

const kubectl = (args: string[]) => execFileSync('kubectl', args, { encoding: 'utf8' });
const PROJECTS = ['vision', 'nlp'];

test.beforeAll(() => {
  kubectl(['apply', '-f', resolve(__dirname, '../../tests/fixtures/kubeflow/poddefault-crd.yaml')]);
  // Bob's group may make PodDefaults in its projects, as a Kubeflow profile's contributors may.
  for (const ns of PROJECTS) {
    kubectl(['create', 'role', 'poddefaults', '-n', ns, '--verb=create,patch,get,list', '--resource=poddefaults.kubeflow.org']);
    kubectl(['create', 'rolebinding', 'research-poddefaults', '-n', ns, '--role=poddefaults', '--group=research']);
  }
});
test.afterAll(() => {
  for (const ns of PROJECTS) {
    kubectl(['delete', 'poddefaults', '--all', '-n', ns]);
    kubectl(['delete', 'rolebinding', 'research-poddefaults', '-n', ns]);
    kubectl(['delete', 'role', 'poddefaults', '-n', ns]);
  }
});

test('an editor offers a credential to notebooks in every project it reaches', async ({ page }) => {
  await signIn(page, 'bob');
  await page.goto(url('/credentials'));
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('link', { name: 'Hugging Face (research)' }).click();
  await page.getByRole('button', { name: 'Offer to notebooks' }).click();
  const dialog = page.getByRole('dialog', { name: 'Offer Hugging Face (research) to notebooks' });
  await dialog.getByRole('button', { name: 'Offer', exact: true }).click();
  await expect(dialog.getByRole('list', { name: 'Offered in' })).toContainText('vision: offered');
  await expect(dialog.getByRole('list', { name: 'Offered in' })).toContainText('nlp: offered');
  for (const ns of PROJECTS) {
    const offered = JSON.parse(kubectl(['get', 'poddefaults', '-n', ns, '-o', 'json'])).items;
    expect(offered).toHaveLength(1);
    expect(offered[0].spec.envFrom[0].secretRef.name).toBe(page.url().split('/').pop());
    expect(offered[0].spec.desc).toBe('Hugging Face (research)');
  }
});

test('a viewer is offered nothing, and the server refuses', async ({ page }) => {
  await signIn(page, 'carol');
  await page.goto(url('/credentials/vision/docker-hub-vision'));
  await page.locator('html[data-hydrated]').waitFor();
  await expect(page.getByRole('heading', { name: 'Used by' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Offer to notebooks' })).toHaveCount(0);
  const direct = await page.request.post(url('/api/offer_to_notebooks'), { headers: { Origin: url('') }, form: { namespace: 'vision', name: 'docker-hub-vision' } });
  expect(direct.status()).toBe(403);
});

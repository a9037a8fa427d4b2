// "Use in a workload": bob attaches S3 datasets to a Deployment in nlp as envFrom, after seeing the
// exact change; Used by shows it. carol (viewer) is offered nothing and refused by the server.
import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { signIn, url } from './session';

const kubectl = (args: string[], input?: string) => execFileSync('kubectl', args, { encoding: 'utf8', input });

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'inference', namespace: 'nlp' },
  spec: {
    selector: { matchLabels: { app: 'inference' } },
    template: { metadata: { labels: { app: 'inference' } }, spec: { containers: [{ name: 'server', image: 'busybox', envFrom: [{ configMapRef: { name: 'settings' } }] }] } },
  },
};

test.beforeAll(() => {
  kubectl(['apply', '-f', '-'], JSON.stringify(deployment));
  // Bob's group runs the project's workloads, as a cluster administrator would grant it.
  kubectl(['create', 'role', 'workloads', '-n', 'nlp', '--verb=get,list,patch', '--resource=deployments.apps']);
  kubectl(['create', 'rolebinding', 'research-workloads', '-n', 'nlp', '--role=workloads', '--group=research']);
});
test.afterAll(() => {
  kubectl(['delete', 'deployment', 'inference', '-n', 'nlp', '--ignore-not-found']);
  kubectl(['delete', 'rolebinding', 'research-workloads', '-n', 'nlp', '--ignore-not-found']);
  kubectl(['delete', 'role', 'workloads', '-n', 'nlp', '--ignore-not-found']);
});

test('an editor attaches a credential to a workload after seeing the change, and Used by shows it', async ({ page }) => {
  await signIn(page, 'bob');
  await page.goto(url('/credentials/nlp/s3-datasets'));
  await page.locator('html[data-hydrated]').waitFor();
  await page.getByRole('button', { name: 'Use in a workload' }).click();
  const dialog = page.getByRole('dialog', { name: 'Use S3 datasets in a workload' });
  await dialog.getByLabel('Workload').selectOption({ label: 'Deployment/nlp/inference' });
  await dialog.getByLabel('Every key as an environment variable (envFrom)').check();
  await dialog.getByRole('button', { name: 'Show the change' }).click();
  await expect(dialog.locator('pre')).toContainText('"path": "/spec/template/spec/containers/0/envFrom/-"');
  await expect(dialog.locator('pre')).toContainText('"name": "s3-datasets"');
  await dialog.getByRole('button', { name: 'Make this change' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText('Deployment/nlp/inference')).toBeVisible();
  const envFrom = JSON.parse(kubectl(['get', 'deployment', 'inference', '-n', 'nlp', '-o', 'jsonpath={.spec.template.spec.containers[0].envFrom}']));
  expect(envFrom).toEqual([{ configMapRef: { name: 'settings' } }, { secretRef: { name: 's3-datasets' } }]);
});

test('a viewer is offered nothing, and the server refuses the change', async ({ page }) => {
  await signIn(page, 'carol');
  await page.goto(url('/credentials/vision/docker-hub-vision'));
  await page.locator('html[data-hydrated]').waitFor();
  await expect(page.getByRole('heading', { name: 'Used by' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Use in a workload' })).toHaveCount(0);
  const direct = await page.request.post(url('/api/attach_credential'), {
    headers: { Origin: url('') },
    data: { namespace: 'vision', name: 'docker-hub-vision', attachment: { kind: 'Deployment', namespace: 'vision', name: 'trainer', use: { kind: 'pulls' } }, apply: true },
  });
  expect(direct.status()).toBe(403);
});

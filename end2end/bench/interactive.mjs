// Browser benchmark (issue 21): how long /credentials takes to become usable on the release build,
// unthrottled and on Lighthouse's slow profile (1.6 Mbps down, 750 kbps up, 150 ms round trip),
// and how many bytes each route downloads. Starts target/release/keyhold on the embedded demo
// (run `make build` first); prints a Markdown table for the README. Not a test: `make bench-browser`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from '@playwright/test';

const root = resolve(import.meta.dirname, '../..');
const RUNS = 5;
const profiles = {
  unthrottled: null,
  'slow (1.6 Mbps, 150 ms)': { offline: false, latency: 150, downloadThroughput: (1.6e6 / 8) * 0.9, uploadThroughput: (750e3 / 8) * 0.9 },
};
const routes = ['/credentials', '/credentials/new', '/credentials/vision/docker-hub-vision', '/projects/vision/settings/secrets', '/me/credentials'];

const port = await new Promise((ok) => {
  const server = createServer();
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => ok(port));
  });
});
const data = mkdtempSync(join(tmpdir(), 'keyhold-bench-'));
const keyhold = spawn(join(root, 'target/release/keyhold'), ['serve', '--cluster', 'embedded', '--listen', `127.0.0.1:${port}`, '--data-dir', data], { cwd: root, stdio: 'ignore' });
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
  if (ready) break;
  if (i > 300) throw new Error('keyhold did not become ready');
  await new Promise((r) => setTimeout(r, 200));
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext();
const signedIn = await context.request.post(`${url}/api/sign_in`, { form: { username: 'bob', password: 'keyhold-demo', next: '/' }, headers: { Origin: url } });
if (!signedIn.ok()) throw new Error(`sign-in failed: ${signedIn.status()}`);

/** One cold load of `path`: first byte, first contentful paint, hydrated (ms), and bytes on the wire. */
async function load(path, conditions) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (conditions) await cdp.send('Network.emulateNetworkConditions', conditions);
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  page.on('response', (r) => { if (r.url().endsWith('/keyhold.wasm')) wasmEncoding = r.headers()['content-encoding'] ?? 'none'; });
  await page.goto(`${url}${path}`, { waitUntil: 'commit' });
  await page.locator('html[data-hydrated]').waitFor({ timeout: 120_000 });
  const timing = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    return { firstByte: nav.responseStart, firstPaint: paint ? paint.startTime : NaN, hydrated: performance.now() };
  });
  await page.waitForLoadState('networkidle');
  await page.close();
  return { ...timing, bytes };
}

/** How the main WASM came (the server sends brotli or gzip, whichever the browser asks for). */
let wasmEncoding = 'unknown';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${Math.round(x)} ms`;

// Navigation timing does not see Chromium's emulated latency, so first byte is given unthrottled only.
console.log('| /credentials, release build | first byte | first contentful paint | hydrated (every control works) |');
console.log('| --- | --- | --- | --- |');
for (const [name, conditions] of Object.entries(profiles)) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await load('/credentials', conditions));
  const firstByte = conditions ? 'n/a' : ms(median(runs.map((r) => r.firstByte)));
  console.log(`| ${name} (median of ${RUNS}) | ${firstByte} | ${ms(median(runs.map((r) => r.firstPaint)))} | ${ms(median(runs.map((r) => r.hydrated)))} |`);
}
const sizes = [];
for (const path of routes) sizes.push([path, (await load(path, null)).bytes]);
console.log(`\n| route | bytes on the wire, cold (the WASM as ${wasmEncoding}) |`);
console.log('| --- | --- |');
for (const [path, bytes] of sizes) console.log(`| \`${path}\` | ${Math.round(bytes / 1024)} KB |`);

await browser.close();
keyhold.kill('SIGTERM');
rmSync(data, { recursive: true, force: true });

// Starts the built Keyhold server on free ports with a fresh data directory for the browser tests,
// and stops it afterwards. Tests read its address from KEYHOLD_URL and reach its embedded cluster
// with kubectl through KUBECONFIG; a test that needs a Keyhold of its own starts one here.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => ok(port));
    });
  });
}

async function waitUntilReady(url: string, child: { exitCode: number | null }): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`keyhold exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`keyhold did not become ready at ${url}`);
}

export interface Keyhold {
  url: string;
  /** The kubeconfig of its embedded cluster (with `embedded`). */
  kubeconfig: string;
  stop(): Promise<void>;
}

/**
 * Starts the built Keyhold on free ports with a fresh data directory: with `embedded`, on its
 * own embedded cluster served to kubectl through `kubeconfig`; else on `env.KUBECONFIG`'s cluster.
 * With `logFile`, its log goes there (for tests that read it) instead of to the test's output.
 */
export async function startKeyhold(embedded: boolean, env: Record<string, string> = {}, logFile?: string): Promise<Keyhold> {
  const root = resolve(__dirname, '..');
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-e2e-'));
  const [port, apiPort] = [await freePort(), await freePort()];
  const kubeconfig = join(dataDir, 'kubeconfig');
  const cluster = embedded
    ? ['--cluster', 'embedded', '--kube-api-listen', `127.0.0.1:${apiPort}`, '--write-kubeconfig', kubeconfig]
    : ['--cluster', 'kubeconfig'];
  const child = spawn(
    join(root, 'target/debug/keyhold'),
    ['serve', ...cluster, '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir,
      // Every test signs in from 127.0.0.1; the tests of failed sign-ins must not lock the others out.
      '--sign-in-max-failures', '50'],
    { cwd: root, stdio: logFile ? ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] : ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(url, child);
  return {
    url,
    kubeconfig,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export default async function globalSetup() {
  const keyhold = await startKeyhold(true);
  process.env.KEYHOLD_URL = keyhold.url;
  process.env.KUBECONFIG = keyhold.kubeconfig;
  return keyhold.stop;
}

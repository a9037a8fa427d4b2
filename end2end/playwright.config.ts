import { defineConfig } from '@playwright/test';

// Debian's Chromium, never a downloaded browser. Without the networking flags Chromium keeps
// trying to reach Google's hosts, which this machine's closed network refuses.
export default defineConfig({
  testDir: './tests',
  globalSetup: './server.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});

import { defineConfig } from '@playwright/test';

// The server under test: the release build, started by Playwright against the
// end-to-end database that scripts/test prepares.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;

const chromium = {
  browserName: 'chromium' as const,
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  },
};

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  forbidOnly: true,
  retries: 0,
  workers: 2,
  reporter: [['list']],
  timeout: 30_000,
  use: { baseURL, trace: 'retain-on-failure' },
  outputDir: './test-results',
  projects: [
    { name: 'hydrated', testMatch: /.*\.hydrated\.spec\.ts/, use: { ...chromium, javaScriptEnabled: true } },
    { name: 'no-js', testMatch: /.*\.nojs\.spec\.ts/, use: { ...chromium, javaScriptEnabled: false } },
  ],
  webServer: {
    // Demo data first (idempotent): the sign-in tests use its fixed logins.
    command: `sh -c '${process.env.E2E_SERVER ?? '../target/release/switchboard'} seed-demo && exec ${process.env.E2E_SERVER ?? '../target/release/switchboard'} serve'`,
    cwd: __dirname,
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      LISTEN_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? `${__dirname}/../target/site`,
      LEPTOS_ENV: 'PROD',
      DATABASE_URL: process.env.E2E_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/switchboard_e2e',
      LOG: 'warn',
    },
  },
});

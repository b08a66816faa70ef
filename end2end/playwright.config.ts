import { defineConfig } from '@playwright/test';

// The server under test: the release build, started by Playwright against the
// end-to-end database that scripts/test prepares.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;

// The multi-node test's two servers (see chat.hydrated.spec.ts).
const nodePorts = [port + 1, port + 2];
const binary = process.env.E2E_SERVER ?? '../target/release/switchboard';

// One server: demo data first (idempotent; the tests use its fixed logins),
// then serve. Of two nodes on one database, only the first seeds.
function server(p: number, databaseUrl: string, extra: Record<string, string> = {}, seed = true) {
  return {
    command: seed ? `sh -c '${binary} seed-demo && exec ${binary} serve'` : `${binary} serve`,
    cwd: __dirname,
    url: `http://127.0.0.1:${p}/readyz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe' as const,
    stderr: 'pipe' as const,
    env: {
      LISTEN_ADDR: `127.0.0.1:${p}`,
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? `${__dirname}/../target/site`,
      LEPTOS_ENV: 'PROD',
      DATABASE_URL: databaseUrl,
      LOG: 'warn',
      // Every test signs in and opens chats from 127.0.0.1, in parallel.
      RATE_LIMIT_SCALE: '10',
      // The webhooks test receives deliveries on 127.0.0.1.
      WEBHOOK_ALLOW_PRIVATE: '1',
      // Uploaded files: under target/, one directory per deployment (database).
      ATTACHMENTS_DIR: `${__dirname}/../target/e2e-attachments/${databaseUrl.split("/").pop()}`,
      ...extra,
    },
  };
}

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
  webServer: [
    server(port, process.env.E2E_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/switchboard_e2e'),
    // Two nodes of one deployment (RabbitMQ mode, one database) for the
    // multi-node test.
    ...nodePorts.map((p, i) =>
      server(
        p,
        process.env.E2E_NODES_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/switchboard_e2e_nodes',
        { AMQP_URL: process.env.E2E_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/switchboard_e2e' },
        i === 0,
      ),
    ),
  ],
});

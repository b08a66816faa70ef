import { test, expect } from '@playwright/test';
import { createServer, type IncomingMessage } from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { admin, consoleReady, createAgent, noSeriousViolations, signIn } from './fixtures';

test.describe.configure({ timeout: 120_000 });

interface Received {
  body: string;
  timestamp: string;
  signature: string;
}

/// A receiver on this machine (the e2e servers allow private targets) that
/// records what it is sent and answers `status`.
async function receiver(): Promise<{ url: string; got: Received[]; close: () => void }> {
  const got: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({
        body,
        timestamp: String(req.headers['x-switchboard-timestamp'] ?? ''),
        signature: String(req.headers['x-switchboard-signature'] ?? ''),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => server.close() };
}

test('an admin creates a webhook from the real topics, keeps its secret, sends a signed test, and disables and re-enables it', async ({ browser, request, baseURL }) => {
  const hook = await receiver();
  try {
    // An admin of Northwind alone: the page shows that account's webhooks.
    const owner = await createAgent(await admin(request, baseURL!), [], { role: 'admin' });
    const page = await signIn(await browser.newContext(), owner, '/admin/webhooks');
    await consoleReady(page);
    await expect(page.getByRole('heading', { level: 1, name: 'Webhooks' })).toBeVisible();
    const form = page.getByRole('form', { name: 'New webhook' });

    // A bad URL is named under its field; nothing is created.
    await form.getByLabel('URL').fill('ftp://example.com/hook');
    await form.getByRole('checkbox', { name: 'session.opened' }).check();
    await form.getByRole('button', { name: 'Create webhook' }).click();
    await expect(form.locator('#webhook-url-error')).toContainText('http');

    await form.getByLabel('URL').fill(hook.url);
    await form.getByRole('checkbox', { name: 'message.created' }).check();
    await form.getByLabel('Or patterns').fill('session.*');
    await form.getByRole('button', { name: 'Create webhook' }).click();
    const shown = page.getByTestId('new-webhook-secret');
    await expect(shown).toBeVisible();
    const secret = await shown.getByLabel('Signing secret').inputValue();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const row = page.getByTestId('webhooks').locator(`li[data-url="${hook.url}"]`);
    await expect(row.getByRole('list', { name: 'Events' })).toContainText('session.opened');
    await expect(row.getByRole('list', { name: 'Events' })).toContainText('session.*');
    await expect(row.getByTestId('webhook-status')).toHaveText('Active');
    await noSeriousViolations(page, 'webhooks page');
    await shown.getByRole('button', { name: 'Done' }).click();
    await expect(shown).toHaveCount(0);

    // A test delivery reaches the receiver, signed with that secret, and the log says so.
    await row.getByRole('button', { name: 'Send test delivery' }).click();
    // (Northwind's real events arrive too, as other tests open chats there.)
    const isTest = (d: Received) => JSON.parse(d.body).topic === 'webhook.test';
    await expect.poll(() => hook.got.some(isTest), { timeout: 15_000 }).toBe(true);
    const delivery = hook.got.find(isTest)!;
    expect(JSON.parse(delivery.body).payload.test).toBe(true);
    const expected = createHmac('sha256', secret).update(`${delivery.timestamp}.${delivery.body}`).digest('hex');
    expect(delivery.signature).toBe(`sha256=${expected}`);
    // The log shows the test at once; once delivered, a refresh says so.
    const log = row.getByTestId('deliveries');
    await expect(log.locator('tr[data-topic="webhook.test"]')).toBeVisible();
    await row.getByRole('button', { name: 'Refresh' }).click();
    await expect(log.locator('tr[data-topic="webhook.test"]').getByTestId('delivery-state')).toHaveText('Delivered (204)', { timeout: 15_000 });

    // Disabled, it takes no test; re-enabled, it does.
    await row.getByRole('button', { name: 'Disable' }).click();
    await expect(row.getByTestId('webhook-status')).toContainText('Disabled');
    await expect(row.getByRole('button', { name: 'Send test delivery' })).toBeDisabled();
    await row.getByRole('button', { name: 'Re-enable' }).click();
    await expect(row.getByTestId('webhook-status')).toHaveText('Active');
    await expect(row.getByRole('button', { name: 'Send test delivery' })).toBeEnabled();

    // Deleting asks first.
    await row.getByRole('button', { name: `Delete the webhook to ${hook.url}` }).click();
    await page.getByRole('dialog', { name: 'Delete this webhook?' }).getByRole('button', { name: 'Delete webhook' }).click();
    await expect(row).toHaveCount(0);
  } finally {
    hook.close();
  }
});

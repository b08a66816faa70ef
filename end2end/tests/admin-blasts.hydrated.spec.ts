import { test, expect } from '@playwright/test';
import { admin, consoleReady, createAccount, createAgent, createSupportType, noSeriousViolations, signIn, unique } from './fixtures';

const CUSTOMERS = 200;

test.describe.configure({ timeout: 180_000 });

test('an admin sees how many customers a blast reaches, sends it to 200, and watches its progress reach 100% live', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  // 200 customers with a past chat of a new type (imported, as a team moving
  // from its old helpdesk would have them): the segment. In an account of
  // their own: the 200 chats the blast opens wait in its queue, not in the
  // one the live monitor's tests watch.
  const account = await createAccount(api);
  const type = await createSupportType(api, { routing: 'manual', account });
  const batch = unique('blast');
  const at = new Date(Date.now() - 3_600_000).toISOString();
  const history = Array.from({ length: CUSTOMERS }, (_, i) =>
    JSON.stringify({
      id: `${batch}-${i}`,
      type: type.slug,
      status: 'resolved',
      created_at: at,
      resolved_at: at,
      customer: { id: `${batch}-c${i}`, email: `${batch}-${i}@customer.e2e.example.com`, name: `Blast customer ${i}` },
      messages: [{ from: 'customer', body: 'Do you ship abroad?', created_at: at }],
    }),
  ).join('\n');
  const upload = await request.post(`/api/v1/imports?format=jsonl&account_id=${account.id}`, {
    headers: api.headers(),
    multipart: { file: { name: 'customers.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(history) } },
  });
  expect(upload.status(), await upload.text()).toBe(201);
  const run = await upload.json();
  await api.send('POST', `/imports/${run.id}/apply`, {}, 202);
  await expect.poll(async () => (await api.get(`/imports/${run.id}`)).status, { timeout: 30_000 }).toBe('completed');
  const owner = await createAgent(api, [], { role: 'admin', account });
  const page = await signIn(await browser.newContext(), owner, '/admin/blasts');
  await consoleReady(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Blasts' })).toBeVisible();
  await expect(page.getByTestId('blasts-live')).toContainText('Connected');
  const form = page.getByRole('form', { name: 'New blast' });
  const message = `Our warehouse is closed on Friday (${unique('note')}).`;

  // Without a type, the form says what is missing, next to it.
  await form.getByLabel('Message', { exact: true }).fill(message);
  await form.getByRole('button', { name: 'Send blast…' }).click();
  await expect(form.locator('#blast-segment-type-error')).toContainText('choose a support type');

  await form.getByLabel('Support type').selectOption({ label: type.name });
  await expect(page.getByTestId('blast-reach')).toHaveText(`Reaches ${CUSTOMERS} customers.`);
  await noSeriousViolations(page, 'blasts page');
  await form.getByRole('button', { name: 'Send blast…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send this blast?' });
  await expect(dialog).toContainText(`${CUSTOMERS} customers`);
  await dialog.getByRole('button', { name: 'Send blast' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Blast sending to ${CUSTOMERS} customers` })).toBeVisible();

  // The new blast's bar fills as the worker sends, without a reload.
  const row = page.getByTestId('blasts').locator('tr').filter({ hasText: message });
  const bar = row.getByRole('progressbar', { name: 'Blast progress' });
  await expect(bar).toHaveAttribute('aria-valuemax', `${CUSTOMERS}`);
  // It moves through the middle on its way, live.
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 60_000 }).toBeGreaterThan(0);
  await expect(row.getByTestId('blast-progress')).toHaveText(`${CUSTOMERS} of ${CUSTOMERS} sent`, { timeout: 90_000 });
  await expect(bar).toHaveAttribute('aria-valuenow', `${CUSTOMERS}`);
  await expect(row.getByTestId('blast-status')).toHaveText('done');
  await expect(row.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
});

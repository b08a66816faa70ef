import { test, expect } from '@playwright/test';
import { admin, consoleReady, createAgent, createSupportType, noSeriousViolations, openChat, signIn, unique } from './fixtures';

test.describe.configure({ timeout: 120_000 });

test('an admin sees how many customers a blast reaches, sends it, and watches its progress reach 100% live', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  // Three customers with a chat of a new type: the segment.
  const type = await createSupportType(api, { routing: 'manual' });
  for (const q of ['Where is my parcel?', 'Can I change my address?', 'Do you ship abroad?']) await openChat(api, type, q);
  const owner = await createAgent(api, [], { role: 'admin' });
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
  await expect(page.getByTestId('blast-reach')).toHaveText('Reaches 3 customers.');
  await noSeriousViolations(page, 'blasts page');
  await form.getByRole('button', { name: 'Send blast…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send this blast?' });
  await expect(dialog).toContainText('3 customers');
  await dialog.getByRole('button', { name: 'Send blast' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Blast sending to 3 customers' })).toBeVisible();

  // The new blast's bar fills as the worker sends, without a reload.
  const row = page.getByTestId('blasts').locator('tr').filter({ hasText: message });
  await expect(row.getByRole('progressbar', { name: 'Blast progress' })).toHaveAttribute('aria-valuemax', '3');
  await expect(row.getByTestId('blast-progress')).toHaveText('3 of 3 sent', { timeout: 30_000 });
  await expect(row.getByRole('progressbar', { name: 'Blast progress' })).toHaveAttribute('aria-valuenow', '3');
  await expect(row.getByTestId('blast-status')).toHaveText('done');
  await expect(row.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
});

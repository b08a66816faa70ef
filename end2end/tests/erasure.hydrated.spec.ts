import { test, expect } from '@playwright/test';
import { admin, AGENT_PASSWORD, createAgent, createSupportType, noSeriousViolations, openChat, signIn, unique, waitForOwner } from './fixtures';

test.describe.configure({ timeout: 120_000 });


test("an admin erases a customer's data from the workspace, and the transcript keeps no word of it", async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api);
  const boss = await createAgent(api, [type], { role: 'admin', online: true });
  const chat = await openChat(api, type, 'I live at 1 Main Street');
  await waitForOwner(api, chat.sessionId, boss.id);

  const page = await signIn(await browser.newContext(), boss, `/agent/sessions/${chat.sessionId}`);
  await expect(page.getByTestId('transcript')).toContainText('I live at 1 Main Street');
  // While the session is open, the erasure is refused, saying why.
  await page.getByRole('button', { name: 'Erase customer data…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Erase customer data' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(chat.customer);
  await noSeriousViolations(page, 'erase dialog');
  await dialog.getByRole('button', { name: 'Erase their data' }).click();
  await expect(dialog.getByRole('alert')).toContainText('1 open session');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  await api.send('POST', `/sessions/${chat.sessionId}/resolve`, {}, 200);
  await page.reload();
  await expect(page.locator('main[data-hydrated="true"]')).toBeAttached({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Erase customer data…' }).click();
  await dialog.getByRole('button', { name: 'Erase their data' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('status').filter({ hasText: 'Erased:' })).toBeVisible();
  await expect(page.getByTestId('customer-erased')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Erase customer data…' })).toHaveCount(0);
  await expect(page.getByTestId('transcript')).not.toContainText('1 Main Street');
  await expect(page.getByTestId('transcript')).toContainText('[erased]');
  // The session is still there for the reports, naming nobody.
  const session = await api.get(`/sessions/${chat.sessionId}`);
  expect(session.status).toBe('resolved');
  const customer = await api.get(`/customers/${session.customer_id}`);
  expect([customer.name, customer.email]).toEqual([null, null]);

  // The audit log, filtered to erasures (a GET form: the address carries it).
  await page.goto('/admin/audit');
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await page.getByLabel('Action starts with').fill('customer.');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/action=customer\./);
  const actions = page.getByTestId('audit-log').locator('tbody tr td:nth-child(2)');
  await expect(actions.first()).toHaveText('customer.erased');
  expect(new Set(await actions.allTextContents())).toEqual(new Set(['customer.erased']));
  await expect(page.getByTestId('audit-log')).toContainText(session.customer_id);
  await noSeriousViolations(page, 'filtered audit log');
});

test("an account's admin sets the attachment limits, and a bad value is named under its field", async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  // An account of its own: the limits apply to every chat of the account.
  const slug = unique('limits');
  const account = await api.send('POST', '/accounts', { slug, name: `Limits ${slug.slice(7)}` }, 201);
  const email = `${unique('admin')}@e2e.example.com`;
  await api.send('POST', '/agents', { account_id: account.id, email, display_name: 'Lim Admin', role: 'admin', password: AGENT_PASSWORD }, 201);
  const page = await signIn(await browser.newContext(), { email, password: AGENT_PASSWORD }, '/admin/attachments');
  await expect(page.getByRole('heading', { level: 1, name: 'Attachments' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Attachments' })).toHaveAttribute('aria-current', 'page');
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await expect(page.getByLabel('Largest file (MiB)')).toHaveValue('10');
  await noSeriousViolations(page, 'attachments page');

  // Out of range: the domain's message, under the field.
  await page.getByLabel('Files per message').fill('50');
  await page.getByRole('button', { name: 'Save limits' }).click();
  await expect(page.getByLabel('Files per message')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#st-max_per_message-error')).toContainText('between 1 and 20');

  await page.getByLabel('Files per message').fill('3');
  await page.getByLabel('Largest file (MiB)').fill('2.5');
  await page.getByLabel(/^Office documents/).uncheck();
  await page.getByRole('button', { name: 'Save limits' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Attachment limits saved.' })).toBeVisible();
  await expect(page.getByLabel('Files per message')).not.toHaveAttribute('aria-invalid', 'true');

  const policy = await api.get(`/accounts/${account.id}/attachment-policy`);
  expect(policy).toEqual({ max_bytes: 2_621_440, max_per_message: 3, kinds: ['image', 'pdf', 'text'] });
  await page.reload();
  await expect(page.getByLabel('Largest file (MiB)')).toHaveValue('2.5');
  await expect(page.getByLabel(/^Office documents/)).not.toBeChecked();
});

import { test, expect } from '@playwright/test';
import { admin, createAgent, createSupportType, unique } from './fixtures';

test.describe.configure({ timeout: 120_000 });

test('an admin creates an agent with a skill without JavaScript', async ({ page, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const type = await createSupportType(api);
  await page.goto('/admin/agents/new');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('E-mail address').fill(accountAdmin.email);
  await page.getByLabel('Password').fill(accountAdmin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/admin\/agents\/new$/);

  // A refused address comes back with the domain's message under the field.
  await page.getByLabel('Name', { exact: true }).fill('No script');
  await page.getByLabel('E-mail address').fill('someone@localhost');
  await page.getByLabel('Password').fill('no script password');
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page.locator('#st-email-error')).toContainText('is not an e-mail address');

  const email = `${unique('nojs')}@e2e.example.com`;
  await page.getByLabel('Name', { exact: true }).fill('No script');
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill('no script password');
  await page.getByLabel(type.name, { exact: true }).check();
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/admin\/agents\/[0-9a-f-]{36}\?created/);
  await expect(page.getByRole('status').filter({ hasText: 'Agent created' })).toBeVisible();
  const id = /agents\/([0-9a-f-]{36})/.exec(page.url())![1];
  expect(await api.get(`/agents/${id}/skills`)).toEqual([{ support_type_id: type.id, tier: null }]);

  await page.goto('/admin/agents');
  await expect(page.getByTestId('agents').locator(`tr[data-email="${email}"]`)).toContainText(type.name);
});

test('an admin adds a tag rule without JavaScript', async ({ page, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const tag = unique('nojs-tag').toLowerCase();
  await page.goto('/admin/tags');
  await page.getByLabel('E-mail address').fill(accountAdmin.email);
  await page.getByLabel('Password').fill(accountAdmin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/admin\/tags$/);
  const form = page.getByRole('form', { name: 'New tag rule' });
  await form.getByLabel('Tag', { exact: true }).fill(tag);
  await form.getByLabel('Tags a session when').selectOption('keyword');
  await form.getByLabel('Word, expression or reference').fill('invoice');
  await form.getByRole('button', { name: 'Add rule' }).click();
  await expect(page).toHaveURL(/\/admin\/tags/);
  await expect(page.getByTestId('tag-rules').locator('tr', { hasText: tag })).toContainText('invoice');
  const rules: { pattern: string }[] = await api.get('/tag-rules');
  expect(rules.filter((r) => r.pattern === 'invoice').length).toBeGreaterThan(0);
});

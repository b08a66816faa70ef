import { test, expect } from '@playwright/test';
import { admin, createAgent, unique } from './fixtures';

test.describe.configure({ timeout: 120_000 });

test('an admin creates a support type without JavaScript', async ({ page, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  await page.goto('/admin/support-types/new');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('E-mail address').fill(accountAdmin.email);
  await page.getByLabel('Password').fill(accountAdmin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/admin\/support-types\/new$/);

  // A refused slug comes back with the domain's message under the field.
  await page.getByLabel('Name', { exact: true }).fill('No script');
  await page.getByLabel('Slug').fill('No Script');
  await page.getByRole('button', { name: 'Create support type' }).click();
  await expect(page.locator('#st-slug-error')).toContainText('lowercase letters');

  const slug = unique('nojs');
  await page.getByLabel('Name', { exact: true }).fill(`No script ${slug.slice(5)}`);
  await page.getByLabel('Slug').fill(slug);
  await page.getByLabel('Queue SLA (seconds)').fill('600');
  await page.getByRole('button', { name: 'Create support type' }).click();
  await expect(page).toHaveURL(/\/admin\/support-types\/[0-9a-f-]{36}\?created/);
  await expect(page.getByRole('status').filter({ hasText: 'Support type created' })).toBeVisible();
  await expect(page.getByLabel('Slug')).toHaveValue(slug);

  await page.goto(`/admin/support-types?q=${slug}`);
  const rows = page.getByTestId('support-types').locator('tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('10 min');
});

import { test, expect } from '@playwright/test';
import { admin, createAgent, unique } from './fixtures';

test.describe.configure({ timeout: 120_000 });

test('an admin adds a canned reply and picks a theme without JavaScript', async ({ page, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const shortcut = unique('nojs').toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  await page.goto('/admin/canned');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('E-mail address').fill(accountAdmin.email);
  await page.getByLabel('Password').fill(accountAdmin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/admin\/canned$/);

  const form = page.getByRole('form', { name: 'New canned reply' });
  await form.getByLabel('Shortcut').fill(shortcut);
  await form.getByLabel('Title').fill('Without a script');
  await form.getByLabel('Reply', { exact: true }).fill('This works without JavaScript.');
  await form.getByRole('button', { name: 'Add canned reply' }).click();
  await expect(page).toHaveURL(/\/admin\/canned/);
  await expect(page.getByTestId('canned').locator(`li[data-shortcut="${shortcut}"]`)).toContainText('Without a script');
  const stored: { shortcut: string; body: string }[] = await api.get('/canned-responses');
  expect(stored.find((c) => c.shortcut === shortcut)?.body).toBe('This works without JavaScript.');

  // The theme button is a form: the server remembers the choice and renders it.
  const html = page.locator('html');
  await expect(html).toHaveAttribute('data-theme', 'system');
  await page.getByTestId('theme-toggle').click();
  await expect(page).toHaveURL(/\/admin\/canned/);
  await expect(html).toHaveAttribute('data-theme', 'light');
  await page.getByTestId('theme-toggle').click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
});

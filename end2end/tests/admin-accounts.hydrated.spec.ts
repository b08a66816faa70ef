import { test, expect } from '@playwright/test';
import { DEMO_PASSWORD, admin, consoleReady, noSeriousViolations, signIn, unique } from './fixtures';

test.describe.configure({ timeout: 120_000 });

test('a global admin creates an account, sets its widget origins, and rotates its identity secret once', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const page = await signIn(await browser.newContext(), { email: 'admin@example.com', password: DEMO_PASSWORD }, '/admin/accounts');
  await consoleReady(page);
  await expect(page.getByTestId('accounts').locator('tr[data-slug="northwind"]')).toBeVisible();

  const slug = unique('acct').toLowerCase();
  const form = page.getByRole('form', { name: 'New account' });
  await form.getByLabel('Name').fill('Console Account');
  await form.getByLabel('Slug').fill('Not a slug');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#st-slug-error')).toContainText('lowercase');
  await form.getByLabel('Slug').fill(slug);
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/admin\/accounts\/[0-9a-f-]{36}\?created/);
  const id = /accounts\/([0-9a-f-]{36})/.exec(page.url())![1];
  await consoleReady(page);
  await noSeriousViolations(page, 'account');

  // Origins are checked and saved in their normal form, shown as chips.
  const settings = page.getByRole('form', { name: 'Account settings' });
  await settings.getByLabel('Name', { exact: true }).fill('Console Account Renamed');
  await settings.getByLabel('Widget origins', { exact: true }).fill('https://shop.example.com/path');
  await settings.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.locator('#st-widget_origins-error')).not.toBeEmpty();
  await settings.getByLabel('Widget origins', { exact: true }).fill('HTTPS://Shop.Example.com/\nhttps://help.example.com:8443');
  await settings.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByTestId('toasts')).toContainText('Saved Console Account Renamed');
  await expect(page.getByTestId('origins')).toContainText('https://shop.example.com');
  const saved = await api.get(`/accounts/${id}`);
  expect([saved.name, saved.widget_origins]).toEqual(['Console Account Renamed', ['https://shop.example.com', 'https://help.example.com:8443']]);

  // The identity secret: asked once, shown once.
  expect(saved.identity_verification).toBe(false);
  await page.getByRole('button', { name: 'Rotate the identity secret' }).click();
  await page.getByRole('dialog', { name: 'Rotate the identity secret?' }).getByRole('button', { name: 'Rotate the secret' }).click();
  const secret = await page.getByLabel('New identity secret').inputValue();
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  await expect(page.getByTestId('new-secret')).toContainText('HMAC-SHA256');
  expect((await api.get(`/accounts/${id}`)).identity_verification).toBe(true);
  await page.reload();
  await consoleReady(page);
  await expect(page.getByTestId('new-secret')).toHaveCount(0);
});

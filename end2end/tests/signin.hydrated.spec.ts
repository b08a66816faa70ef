import { test, expect } from '@playwright/test';

test('an agent is sent to sign in, comes back to the workspace, and signs out', async ({ page }) => {
  await page.goto('/agent');
  await expect(page).toHaveURL(/\/login\?next=\/agent$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();

  await page.getByLabel('E-mail address').fill('agent1@example.com');
  await page.getByLabel('Password').fill('demo-password');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page).toHaveURL(/\/agent$/);
  await expect(page.getByTestId('signed-in-as')).toContainText('agent');
  await expect(page.getByRole('region', { name: 'Your sessions' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Waiting' })).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/agent');
  await expect(page).toHaveURL(/\/login\?next=\/agent$/);
});

test('a wrong password shows a clear message and no session', async ({ page }) => {
  await page.goto('/login?next=/admin');
  await page.getByLabel('E-mail address').fill('agent2@example.com');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('wrong e-mail address or password', { ignoreCase: true });
  await expect(page).toHaveURL(/\/login/);
});

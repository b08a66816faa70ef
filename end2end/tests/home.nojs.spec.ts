import { test, expect } from '@playwright/test';

test('without JavaScript the server-rendered home page is complete', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Customer support that routes itself.' })).toBeVisible();
  for (const name of ['Agent workspace', 'Administration', 'Customer chat']) {
    await expect(page.getByRole('heading', { name })).toBeVisible();
  }
  // The status card was rendered on the server, not left as a loading skeleton.
  await expect(page.getByTestId('system-status')).toBeVisible();
  await expect(page.getByTestId('schema-version')).toHaveText(/^\d+ \(/);
  await expect(page.getByTestId('database-time')).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
  await expect(page.getByLabel('Loading status')).toHaveCount(0);
});

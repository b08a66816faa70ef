import { test, expect } from '@playwright/test';

test('the home page hydrates: the button runs in WASM and the server function answers', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Customer support that routes itself.' })).toBeVisible();
  await expect(page.getByTestId('schema-version')).toHaveText(/^\d+ \(/);
  const firstTime = await page.getByTestId('database-time').textContent();

  // Hydration is done when the WASM has attached its event handlers; the
  // click only changes the counter if it has.
  const count = page.getByTestId('check-count');
  await expect(count).toHaveText('Checked once since this page loaded.');
  await expect(async () => {
    await page.getByTestId('refresh-status').click();
    await expect(count).toHaveText(/Checked \d+ times/, { timeout: 500 });
  }).toPass({ timeout: 15_000 });

  // A click re-runs the server function; its fresh answer replaces the old one
  // without a page reload. The time shows whole seconds, so click until the
  // answer is from a later second than the first.
  const navigations: string[] = [];
  page.on('framenavigated', (f) => navigations.push(f.url()));
  await expect(async () => {
    await page.getByTestId('refresh-status').click();
    await expect(page.getByTestId('database-time')).not.toHaveText(firstTime ?? '', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByTestId('schema-version')).toHaveText(/^\d+ \(/);
  expect(navigations).toEqual([]);
  expect(errors).toEqual([]);
});

test('the WASM, JS and CSS are served with the right content types', async ({ request }) => {
  const wasm = await request.get('/pkg/switchboard.wasm');
  expect(wasm.status()).toBe(200);
  expect(wasm.headers()['content-type']).toBe('application/wasm');
  const js = await request.get('/pkg/switchboard.js');
  expect(js.status()).toBe(200);
  expect(js.headers()['content-type']).toMatch(/^text\/javascript|^application\/javascript/);
  const css = await request.get('/pkg/switchboard.css');
  expect(css.status()).toBe(200);
  expect(css.headers()['content-type']).toMatch(/^text\/css/);
  // Tailwind generated the utilities the pages use.
  expect(await css.text()).toContain('.bg-indigo-600');
});

test('an unknown page shows the not-found page', async ({ page }) => {
  const res = await page.goto('/no/such/page');
  expect(res?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'This page does not exist' })).toBeVisible();
  await page.getByRole('link', { name: 'Back to Switchboard' }).click();
  await expect(page).toHaveURL(/\/$/);
});

import { test, expect, type Page } from '@playwright/test';
import { admin, consoleReady, createAgent, noSeriousViolations, signIn } from './fixtures';

test.describe.configure({ timeout: 120_000 });

/// The page background's relative luminance (0 black … 1 white), whatever
/// colour syntax the browser reports it in.
async function backgroundLuminance(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = getComputedStyle(document.documentElement).backgroundColor;
    ctx.fillRect(0, 0, 1, 1);
    const [r, g, b] = Array.from(ctx.getImageData(0, 0, 1, 1).data).map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  });
}

const isDark = async (page: Page) => (await backgroundLuminance(page)) < 0.05;

test('the console follows the system theme until the reader picks one, which is remembered', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const page = await signIn(await browser.newContext(), accountAdmin, '/admin/support-types');
  await consoleReady(page);
  const html = page.locator('html');
  const toggle = page.getByTestId('theme-toggle');

  // Nothing chosen: the system's setting decides, live.
  await expect(html).toHaveAttribute('data-theme', 'system');
  await expect(toggle).toHaveAccessibleName('Colour theme: System. Switch to Light');
  await page.emulateMedia({ colorScheme: 'light' });
  expect(await isDark(page)).toBe(false);
  await page.emulateMedia({ colorScheme: 'dark' });
  expect(await isDark(page)).toBe(true);

  // Light, chosen on a dark system: light at once, and after a reload.
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'light');
  expect(await isDark(page)).toBe(false);
  await expect.poll(async () => (await page.context().cookies()).find((c) => c.name === 'sb_theme')?.value).toBe('light');
  await page.reload();
  await consoleReady(page);
  await expect(html).toHaveAttribute('data-theme', 'light');
  expect(await isDark(page)).toBe(false);

  // Dark, chosen on a light system: dark, remembered, and readable (axe, in the chosen theme).
  await page.emulateMedia({ colorScheme: 'light' });
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  expect(await isDark(page)).toBe(true);
  await expect.poll(async () => (await page.context().cookies()).find((c) => c.name === 'sb_theme')?.value).toBe('dark');
  const cookie = (await page.context().cookies()).find((c) => c.name === 'sb_theme')!;
  expect([cookie.httpOnly, cookie.sameSite]).toEqual([true, 'Lax']);
  await page.goto('/agent');
  await expect(html).toHaveAttribute('data-theme', 'dark');
  expect(await isDark(page)).toBe(true);
  await page.goto('/admin/support-types');
  await consoleReady(page);
  await noSeriousViolations(page, 'support types, dark by choice');

  // Back to the system's.
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'system');
  expect(await isDark(page)).toBe(false);

  // The customer's chat page stays light on a dark system.
  const types = (await api.get('/support-types')) as { slug: string; archived_at: string | null }[];
  const slug = types.find((t) => !t.archived_at)!.slug;
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`/chat/${slug}`);
  await expect(html).not.toHaveAttribute('data-theme');
  expect(await isDark(page)).toBe(false);
});

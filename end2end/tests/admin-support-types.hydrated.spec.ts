import { test, expect } from '@playwright/test';
import { admin, consoleReady, createAgent, noSeriousViolations, signIn, unique } from './fixtures';

// Sign-ins may wait out the per-IP rate limit (see fixtures.ts).
test.describe.configure({ timeout: 120_000 });

test('an admin creates a support type, finds it, edits it, archives and unarchives it', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const page = await signIn(await browser.newContext(), accountAdmin, '/admin/support-types/new');
  await consoleReady(page);
  await expect(page.getByRole('heading', { level: 1, name: 'New support type' })).toBeVisible();
  await noSeriousViolations(page, 'editor');

  const slug = unique('console');
  const name = `Console ${slug.slice(8)}`;
  // The domain refuses the slug: its message shows under the field.
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Slug').fill('Not a slug!');
  await page.getByRole('button', { name: 'Create support type' }).click();
  const slugField = page.getByLabel('Slug');
  await expect(page.locator('#st-slug-error')).toContainText('lowercase letters');
  await expect(slugField).toHaveAttribute('aria-invalid', 'true');
  await expect(slugField).toHaveAttribute('aria-describedby', /st-slug-error/);

  await slugField.fill(slug);
  await page.getByLabel('Queue SLA (seconds)').fill('300');
  await page.getByLabel('Open only during business hours').check();
  await page.getByLabel('Time zone').fill('Europe/Berlin');
  await page.getByLabel('Monday open', { exact: true }).check();
  await page.getByLabel('Monday opens').fill('09:00');
  await page.getByLabel('Monday closes').fill('17:30');
  await page.getByLabel('After-hours message').fill('We are closed; we answer from 9:00.');
  await page.getByRole('button', { name: 'Create support type' }).click();
  await expect(page).toHaveURL(/\/admin\/support-types\/[0-9a-f-]{36}\?created/);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Support type created' })).toBeVisible();
  const id = /support-types\/([0-9a-f-]{36})/.exec(page.url())![1];
  const created = await api.get(`/support-types/${id}`);
  expect(created.queue_sla_secs).toBe(300);
  expect(created.business_hours).toEqual({
    time_zone: 'Europe/Berlin',
    open: { mon: ['09:00', '17:30'] },
    after_hours_message: 'We are closed; we answer from 9:00.',
  });
  await expect(page.getByLabel('Embed snippet')).toHaveValue(new RegExp(`/chat/${slug}"`));

  // The list finds it by its slug, with its SLA and state.
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Support types' }).click();
  await expect(page).toHaveURL(/\/admin\/support-types$/);
  await consoleReady(page);
  await page.getByLabel('Search support types').fill(slug);
  const rows = page.getByTestId('support-types').locator('tbody tr');
  await expect(rows).toHaveCount(1);
  const row = rows.first();
  await expect(row).toHaveAttribute('data-slug', slug);
  await expect(row).toContainText('5 min');
  await expect(row).toContainText('Active');
  await noSeriousViolations(page, 'list');
  await row.getByRole('link', { name }).click();
  await consoleReady(page);

  // Edit the greeting.
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await page.getByLabel('Greeting').fill('Hello from the console');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByTestId('toasts')).toContainText(`Saved ${name}`);
  expect((await api.get(`/support-types/${id}`)).greeting).toBe('Hello from the console');

  // Archive asks once, naming the type; unarchive does not.
  await page.getByRole('button', { name: 'Archive', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Archive ${name}?` });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: `Archive ${name}` }).click();
  await expect(page.getByTestId('toasts')).toContainText(`Archived ${name}`);
  await expect(page.getByTestId('type-state')).toContainText('Archived');
  expect((await api.get(`/support-types/${id}`)).archived_at).not.toBeNull();
  await page.getByRole('button', { name: 'Unarchive' }).click();
  await expect(page.getByTestId('toasts')).toContainText(`Unarchived ${name}`);
  await expect(page.getByTestId('type-state')).toContainText('Active');
  expect((await api.get(`/support-types/${id}`)).archived_at).toBeNull();
  // Nothing else changed on the way.
  const after = await api.get(`/support-types/${id}`);
  expect([after.queue_sla_secs, after.business_hours?.open]).toEqual([300, { mon: ['09:00', '17:30'] }]);
});

test('an agent is told the console is for administrators', async ({ browser }) => {
  const page = await signIn(await browser.newContext(), { email: 'agent3@example.com', password: 'demo-password' }, '/admin/support-types');
  await expect(page.getByRole('alert')).toContainText('Administrators only');
  await expect(page.getByTestId('support-types')).toHaveCount(0);
  // Every console page that lists or edits settings says the same, and shows none of them.
  for (const [path, list] of [
    ['/admin/agents', 'agents'],
    ['/admin/agents/new', 'skills'],
    ['/admin/tags', 'tag-rules'],
    ['/admin/canned', 'canned'],
    ['/admin/accounts', 'accounts'],
    ['/admin/monitor', 'monitor-types'],
  ]) {
    await page.goto(path);
    await expect(page.getByRole('alert').filter({ hasText: 'Administrators only' }), path).toBeVisible();
    await expect(page.getByTestId(list), path).toHaveCount(0);
  }
});

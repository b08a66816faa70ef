import { test, expect } from '@playwright/test';
import { admin, consoleReady, createAgent, createSupportType, noSeriousViolations, openChat, signIn, unique } from './fixtures';

// Sign-ins may wait out the per-IP rate limit (see fixtures.ts).
test.describe.configure({ timeout: 150_000 });

test('an admin gives a type three reasons, reorders them, and creates an agent who sees its queue', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const type = await createSupportType(api);
  const page = await signIn(await browser.newContext(), accountAdmin, `/admin/support-types/${type.id}`);
  await consoleReady(page);
  await expect(page.getByTestId('reasons-empty')).toBeVisible();

  // Three reasons, added in order.
  const labels = ['Answered', 'Refund issued', 'Escalated to billing'];
  for (const label of labels) {
    await page.getByLabel('New reason').fill(label);
    await page.getByRole('button', { name: 'Add reason' }).click();
    await expect(page.getByTestId('toasts')).toContainText(`Added ${label}`);
  }
  const shown = page.getByTestId('reasons').locator('li');
  await expect(shown).toHaveCount(3);
  // A duplicate label is refused next to the field, and nothing is added.
  await page.getByLabel('New reason').fill('answered');
  await page.getByRole('button', { name: 'Add reason' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'already labelled' })).toBeVisible();
  await expect(shown).toHaveCount(3);
  const stored = async () =>
    ((await api.get(`/support-types/${type.id}/resolution-reasons?include_archived=true`)) as { label: string; archived_at: string | null }[])
      .map((r) => (r.archived_at ? `(${r.label})` : r.label));

  // With the keyboard: the last one moves up.
  const up = page.getByRole('button', { name: 'Move Escalated to billing up' });
  await up.focus();
  await page.keyboard.press('Enter');
  await expect(shown.nth(1)).toHaveAttribute('data-reason', 'Escalated to billing');
  // The focus stays on the button that moved it, and the move is announced.
  await expect(page.getByRole('button', { name: 'Move Escalated to billing up' })).toBeFocused();
  await expect(page.getByTestId('reasons-announcement')).toHaveText('Escalated to billing moved to place 2 of 3');
  await expect.poll(stored).toEqual(['Answered', 'Escalated to billing', 'Refund issued']);

  // By drag and drop: "Refund issued" onto the first.
  await shown.nth(2).dragTo(shown.nth(0));
  await expect(shown.nth(0)).toHaveAttribute('data-reason', 'Refund issued');
  await expect.poll(stored).toEqual(['Refund issued', 'Answered', 'Escalated to billing']);

  // Relabel in place, then archive one: it stays listed as archived.
  await page.getByLabel('Label of Answered').fill('Answered the question');
  await page.getByLabel('Label of Answered').press('Tab');
  await expect.poll(stored).toEqual(['Refund issued', 'Answered the question', 'Escalated to billing']);
  await page.getByRole('button', { name: 'Archive Escalated to billing' }).click();
  await expect(page.getByTestId('archived-reasons')).toContainText('Escalated to billing');
  await expect(shown).toHaveCount(2);
  await expect.poll(stored).toEqual(['Refund issued', 'Answered the question', '(Escalated to billing)']);
  await noSeriousViolations(page, 'reasons');

  // A new agent who serves the type, from the console.
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Agents' }).click();
  await expect(page).toHaveURL(/\/admin\/agents$/);
  await consoleReady(page);
  await page.getByRole('link', { name: 'New agent' }).click();
  await expect(page).toHaveURL(/\/admin\/agents\/new$/);
  await consoleReady(page);
  await noSeriousViolations(page, 'new agent');
  const email = `${unique('console')}@e2e.example.com`;
  const name = `Console ${email.slice(8, 16)}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Role').selectOption('agent');
  await page.getByLabel('Concurrent sessions').fill('3');
  await page.getByLabel(type.name, { exact: true }).check();
  await page.getByLabel(`Tier for ${type.name}`).selectOption('1');
  // Too short a password: the domain's message under the field.
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page.locator('#st-password-error')).toContainText('at least 12');
  await page.getByLabel('Password').fill('console password');
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/admin\/agents\/[0-9a-f-]{36}\?created/);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  const agentId = /agents\/([0-9a-f-]{36})/.exec(page.url())![1];
  const skills = await api.get(`/agents/${agentId}/skills`);
  expect(skills).toEqual([{ support_type_id: type.id, tier: 1 }]);
  expect((await api.get(`/agents/${agentId}`)).max_concurrent).toBe(3);
  await consoleReady(page);
  await noSeriousViolations(page, 'agent editor');

  // The list finds them, with what they serve and their load.
  await page.goto(`/admin/agents?q=${encodeURIComponent(email)}`);
  await consoleReady(page);
  const row = page.getByTestId('agents').locator(`tr[data-email="${email}"]`);
  await expect(row).toContainText(`${type.name} (tier 1)`);
  await expect(row).toContainText('0 / 3');
  await expect(page.getByTestId('agents').locator('tbody tr')).toHaveCount(1);
  await noSeriousViolations(page, 'agent list');

  // A customer writes in; the new agent, signed in elsewhere, sees the session in the type's queue.
  const chat = await openChat(api, type, 'Where is my parcel?');
  const agentPage = await signIn(await browser.newContext(), { email, password: 'console password' });
  await expect(agentPage.getByTestId('queue').locator(`li[data-session-id="${chat.sessionId}"]`)).toBeVisible({ timeout: 15_000 });
});

test("a bot's API token is shown once, works, and stops working when revoked", async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const page = await signIn(await browser.newContext(), accountAdmin, '/admin/agents/new');
  await consoleReady(page);
  const email = `${unique('bot')}@e2e.example.com`;
  await page.getByLabel('Name', { exact: true }).fill('Console bot');
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Role').selectOption('bot');
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/admin\/agents\/[0-9a-f-]{36}\?created/);
  const botId = /agents\/([0-9a-f-]{36})/.exec(page.url())![1];
  await consoleReady(page);
  await expect(page.getByRole('heading', { name: 'API tokens' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Set a new password' })).toHaveCount(0);

  await page.getByLabel('Label').fill('production');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.getByLabel('New API token').inputValue();
  expect(secret).toMatch(/^sb_[A-Za-z0-9_-]{43}$/);
  await expect(page.getByTestId('tokens')).toContainText('production');
  await noSeriousViolations(page, 'bot editor');

  const me = () => request.get('/api/v1/auth/me', { headers: { Authorization: `Bearer ${secret}` } });
  const before = await me();
  expect(before.status()).toBe(200);
  expect(JSON.stringify(await before.json())).toContain(botId);

  // Shown once: gone after Done, and not on a reload.
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  await page.reload();
  await consoleReady(page);
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(secret);

  await page.getByRole('button', { name: 'Revoke production' }).click();
  await page.getByRole('dialog', { name: 'Revoke this token?' }).getByRole('button', { name: 'Revoke the token' }).click();
  await expect(page.getByTestId('toasts')).toContainText('Revoked production');
  await expect(page.getByTestId('tokens')).toContainText('Revoked');
  expect((await me()).status()).toBe(401);
});

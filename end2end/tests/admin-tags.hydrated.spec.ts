import { test, expect } from '@playwright/test';
import { admin, consoleReady, createAgent, createSupportType, noSeriousViolations, openChat, signIn, unique, waitForOwner } from './fixtures';

test.describe.configure({ timeout: 150_000 });

test('an admin tests a tag rule on samples, saves it, and it tags a chat the agent then resolves', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const type = await createSupportType(api, { reasons: ['Answered', 'Refund issued'] });
  const tag = unique('refund').toLowerCase();
  const page = await signIn(await browser.newContext(), accountAdmin, '/admin/tags');
  await consoleReady(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Tags and rules' })).toBeVisible();

  const form = page.getByRole('form', { name: 'New tag rule' });
  await form.getByLabel('Tag', { exact: true }).fill(tag);
  await form.getByLabel('Tags a session when').selectOption('keyword');
  await form.getByLabel('Word, expression or reference').fill('refund');
  await form.getByLabel('Support type').selectOption({ label: type.name });
  const sample = form.getByLabel('Test this rule on a sample message');
  await sample.fill('Can I get a REFUND for order 12?');
  await form.getByRole('button', { name: 'Test rule' }).click();
  await expect(page.getByTestId('rule-test')).toHaveText(`Matches: the session would be tagged \u201c${tag}\u201d.`);
  // The keyword starts a word: "prefund" is not "refund".
  await sample.fill('This is about prefunding.');
  await form.getByRole('button', { name: 'Test rule' }).click();
  await expect(page.getByTestId('rule-test')).toHaveText('No match: this message would not be tagged.');
  // A broken regex is named under its field, and nothing is saved.
  await form.getByLabel('Tags a session when').selectOption('regex');
  await form.getByLabel('Word, expression or reference').fill('refund(');
  await form.getByRole('button', { name: 'Test rule' }).click();
  await expect(page.locator('#st-pattern-error')).toContainText('not a valid regex');
  await form.getByLabel('Tags a session when').selectOption('keyword');
  await form.getByLabel('Word, expression or reference').fill('refund');

  await noSeriousViolations(page, 'console');

  await form.getByRole('button', { name: 'Add rule' }).click();
  await expect(page.getByTestId('toasts')).toContainText('Rule added');
  const row = page.getByTestId('tag-rules').locator('tr', { hasText: tag });
  await expect(row).toContainText('refund');
  await expect(row).toContainText(type.name);

  // A customer writes in with the word; the tagging consumer tags the session.
  const agent = await createAgent(api, [type], { online: true });
  const chat = await openChat(api, type, 'Hello, I would like a refund please.');
  await expect
    .poll(async () => ((await api.get(`/sessions/${chat.sessionId}/tags`)) as { name: string }[]).map((t) => t.name), { timeout: 15_000 })
    .toContain(tag);

  // The agent resolves it with the second reason.
  await waitForOwner(api, chat.sessionId, agent.id);
  const agentPage = await signIn(await browser.newContext(), agent, `/agent/sessions/${chat.sessionId}`);
  await agentPage.getByRole('button', { name: 'Resolve', exact: true }).click();
  await agentPage.getByLabel('Resolution reason').selectOption({ label: 'Refund issued' });
  await agentPage.getByRole('dialog', { name: 'Resolve session' }).getByRole('button', { name: 'Resolve session' }).click();
  await expect
    .poll(async () => {
      const s = await api.get(`/sessions/${chat.sessionId}`);
      return `${s.status}:${s.resolution_reason_id}`;
    })
    .toBe(`resolved:${type.reasons[1].id}`);
});

test('an admin adds a canned reply with its preview, edits it, and agents of its type are offered it', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const type = await createSupportType(api);
  const shortcut = unique('ship').toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  const page = await signIn(await browser.newContext(), accountAdmin, '/admin/canned');
  await consoleReady(page);
  const form = page.getByRole('form', { name: 'New canned reply' });
  await form.getByLabel('Shortcut').fill('Not OK!');
  await form.getByLabel('Title').fill('Shipping times');
  await form.getByLabel('Offered in').selectOption({ label: type.name });
  // The preview shows the text as text, markup and all.
  await form.getByLabel('Reply', { exact: true }).fill('We ship in <b>2 days</b>.\nThanks!');
  await expect(form.getByTestId('canned-preview')).toHaveText('We ship in <b>2 days</b>.\nThanks!');
  await form.getByRole('button', { name: 'Add canned reply' }).click();
  await expect(page.locator('#st-shortcut-error')).toContainText('lowercase letters');
  await form.getByLabel('Shortcut').fill(shortcut);
  await form.getByRole('button', { name: 'Add canned reply' }).click();
  await expect(page.getByTestId('toasts')).toContainText('Canned reply added');
  const item = page.getByTestId('canned').locator(`li[data-shortcut="${shortcut}"]`);
  await expect(item).toContainText('Shipping times');
  await expect(item).toContainText(type.name);

  await noSeriousViolations(page, 'console');

  await item.getByRole('button', { name: 'Edit Shipping times' }).click();
  await page.getByRole('form', { name: 'Edit Shipping times' }).getByLabel('Title').fill('Shipping and delivery');
  await page.getByRole('button', { name: 'Save reply' }).click();
  await expect(page.getByTestId('toasts')).toContainText('Canned reply saved');
  await expect(item).toContainText('Shipping and delivery');

  // Agents of the type get it through the same list the composer uses.
  const offered: { shortcut: string; title: string }[] = await api.get(`/canned-responses?support_type_id=${type.id}`);
  expect(offered.find((c) => c.shortcut === shortcut)?.title).toBe('Shipping and delivery');
});

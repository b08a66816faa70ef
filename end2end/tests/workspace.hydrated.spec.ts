import { test, expect, type Browser, type Page } from '@playwright/test';
import {
  admin,
  createAgent,
  createSupportType,
  customerSays,
  noSeriousViolations,
  northwind,
  openChat,
  unique,
  setPresence,
  signIn,
  waitForOwner,
  workspaceReady,
  type Api,
  type SupportType,
} from './fixtures';

// Generous: the limit only stops a hung test (these drive the whole workspace,
// and a busy machine makes them slow).
test.describe.configure({ timeout: 120_000 });

const inboxRow = (page: Page, sessionId: string) =>
  page.getByTestId('inbox').locator(`li[data-session-id="${sessionId}"]`);

// An online agent of `type` who has been given a new chat, with the
// workspace open on it.
async function agentWithSession(browser: Browser, api: Api, type: SupportType) {
  const agent = await createAgent(api, [type], { online: true });
  const chat = await openChat(api, type, 'Hello?');
  await waitForOwner(api, chat.sessionId, agent.id);
  const context = await browser.newContext();
  const page = await signIn(context, agent, `/agent/sessions/${chat.sessionId}`);
  await workspaceReady(page);
  return { agent, chat, page };
}

test('a transfer moves the session, with its history, to the other agent live', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { routing: 'round_robin', reasons: ['Answered'] });
  const a = await createAgent(api, [type], { online: true });
  // B comes online only after A got the session, so the engine gives it to A.
  const b = await createAgent(api, [type]);

  const chat = await openChat(api, type, 'My parcel never arrived');
  await waitForOwner(api, chat.sessionId, a.id);
  await setPresence(api, b.id, 'online');

  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  const pageA = await signIn(contextA, a, `/agent/sessions/${chat.sessionId}`);
  const pageB = await signIn(contextB, b, '/agent');

  // A sees the session in the inbox and the customer's message, and answers.
  await expect(inboxRow(pageA, chat.sessionId)).toContainText(chat.customer);
  await expect(pageA.getByTestId('customer-name')).toHaveText(chat.customer);
  const transcriptA = pageA.getByTestId('transcript');
  await expect(transcriptA).toContainText('My parcel never arrived');
  await pageA.getByLabel('Message').fill('Sorry to hear that. Let me pass you to a colleague.');
  await pageA.getByLabel('Message').press('Enter');
  await expect(
    transcriptA.locator('li[data-message-id]').filter({ hasText: 'Let me pass you to a colleague' }),
  ).toHaveCount(1);

  await expect(inboxRow(pageB, chat.sessionId)).toHaveCount(0);
  // Both workspaces are on the live link (not polling): the link state
  // says nothing once it is up.
  await expect(pageA.getByTestId('link-state')).toBeEmpty({ timeout: 10_000 });
  await expect(pageB.getByTestId('link-state')).toBeEmpty({ timeout: 10_000 });

  // A transfers it to B in the dialog.
  await pageA.getByRole('button', { name: 'Transfer', exact: true }).click();
  const dialog = pageA.getByRole('dialog', { name: 'Transfer session' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Transfer to')).toBeFocused();
  await dialog.getByLabel('Transfer to').selectOption({ label: b.name });
  await dialog.getByRole('button', { name: 'Transfer session' }).click();
  await expect(dialog).toBeHidden();
  await expect(pageA.getByRole('status').filter({ hasText: `Session transferred to ${b.name}` })).toBeVisible();

  // B's workspace shows it without a reload, with the whole history.
  await expect(inboxRow(pageB, chat.sessionId)).toContainText(chat.customer, { timeout: 8_000 });
  // A read everything; what the customer writes now is unread for B, live.
  await expect(inboxRow(pageB, chat.sessionId).getByTestId('unread')).toHaveCount(0);
  await customerSays(request, chat, 'Hello? Anyone?');
  await expect(inboxRow(pageB, chat.sessionId).getByTestId('unread')).toHaveText('1');
  await expect(inboxRow(pageB, chat.sessionId)).toContainText('Hello? Anyone?');
  await inboxRow(pageB, chat.sessionId).getByRole('link').click();
  await expect(pageB).toHaveURL(new RegExp(`/agent/sessions/${chat.sessionId}$`));
  const transcriptB = pageB.getByTestId('transcript');
  await expect(transcriptB).toContainText('My parcel never arrived');
  await expect(transcriptB).toContainText('Let me pass you to a colleague');
  await expect(transcriptB).toContainText('Hello? Anyone?');
  await expect(pageB.getByLabel('Message')).toBeEnabled();
  // Opening the conversation read it, for good: the server's count (the
  // inbox loaded afresh, nothing open) is zero too.
  await expect(inboxRow(pageB, chat.sessionId).getByTestId('unread')).toHaveCount(0);
  await expect(async () => {
    await pageB.goto('/agent');
    await workspaceReady(pageB);
    await expect(inboxRow(pageB, chat.sessionId)).toBeVisible();
    await expect(inboxRow(pageB, chat.sessionId).getByTestId('unread')).toHaveCount(0, { timeout: 500 });
  }).toPass({ timeout: 10_000 });

  // And A's inbox no longer lists it.
  await expect(inboxRow(pageA, chat.sessionId)).toHaveCount(0);
  const owner = await api.get(`/sessions/${chat.sessionId}`);
  expect([owner.status, owner.owner_id]).toEqual(['active', b.id]);

  await contextA.close();
  await contextB.close();
});

test('the workspace with a session open has no serious accessibility violations', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { reasons: ['Answered', 'Refund issued'] });
  // Room for one session: the second chat waits in the queue.
  const agent = await createAgent(api, [type], { online: true, maxConcurrent: 1 });
  const chat = await openChat(api, type, 'Can I change my delivery address?');
  await waitForOwner(api, chat.sessionId, agent.id);
  // Something in every list and section: a waiting session, a note, a tag.
  await openChat(api, type, 'Is anyone there?');
  await api.send('POST', `/sessions/${chat.sessionId}/notes`, { body: 'Asked twice before.' }, 201);
  await api.send('POST', `/sessions/${chat.sessionId}/tags`, { name: 'address-change' }, 200);

  const context = await browser.newContext();
  const page = await signIn(context, agent, `/agent/sessions/${chat.sessionId}`);
  await expect(page.getByTestId('transcript')).toContainText('Can I change my delivery address?');
  await expect(page.getByTestId('queue').locator('li[data-session-id]')).not.toHaveCount(0);
  await expect(page.getByTestId('notes')).toContainText('Asked twice before.');

  await noSeriousViolations(page, 'workspace');

  // The resolve dialog, open.
  await page.getByRole('button', { name: 'Resolve', exact: true }).click();
  await expect(page.getByRole('dialog', { name: 'Resolve session' })).toBeVisible();
  await noSeriousViolations(page, 'resolve dialog');
  // Esc closes it and focus goes back to the button that opened it.
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog', { name: 'Resolve session' })).toBeHidden();
  await expect(page.getByRole('button', { name: 'Resolve', exact: true })).toBeFocused();
  await context.close();
});

test('Enter sends the message; Shift+Enter adds a line; / inserts a canned reply', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api);
  const account = await northwind(api);
  const shortcut = unique('thanks').toLowerCase().slice(0, 40);
  await api.send('POST', '/canned-responses', {
    account_id: account.id,
    support_type_id: type.id,
    shortcut,
    title: 'Thank you',
    body: 'Thank you for your patience.',
  }, 201);
  const { chat, page } = await agentWithSession(browser, api, type);
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.click();
  await composer.pressSequentially('First line');
  await composer.press('Shift+Enter');
  await composer.pressSequentially('second line');
  await expect(composer).toHaveValue('First line\nsecond line');
  const sent = page.getByTestId('transcript').locator('li').filter({ hasText: 'second line' });
  await expect(sent).toHaveCount(0);

  await composer.press('Enter');
  await expect(composer).toHaveValue('');
  await expect(sent).toHaveCount(1);
  await expect(sent).toHaveAttribute('data-message-id', /^\d+$/);
  await expect(sent).toContainText('First line\nsecond line', { useInnerText: true });

  // Stored once, with the new line, by its client message id.
  const history = await api.get(`/sessions/${chat.sessionId}/messages`);
  const mine = history.items.filter((m: { body: string }) => m.body.includes('second line'));
  expect(mine.map((m: { body: string }) => m.body)).toEqual(['First line\nsecond line']);
  expect(mine[0].client_message_id).toMatch(/^[0-9a-f-]{36}$/);

  // A leading / lists the canned replies; Enter inserts the chosen one.
  await composer.pressSequentially(`/${shortcut.slice(0, 12)}`);
  const canned = page.getByRole('listbox', { name: 'Canned replies' });
  await expect(canned.getByRole('option')).toHaveCount(1);
  await expect(canned.getByRole('option')).toContainText('Thank you');
  await composer.press('Enter');
  await expect(canned).toBeHidden();
  await expect(composer).toHaveValue('Thank you for your patience.');
  await composer.press('Enter');
  await expect(page.getByTestId('transcript').locator('li[data-message-id]').filter({ hasText: 'Thank you for your patience.' })).toHaveCount(1);
  await page.context().close();
});

test('messages sent in quick succession are stored in the order they were written', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api);
  const { chat, page } = await agentWithSession(browser, api, type);
  // The first send is held up on its way to the server (a slow network), so
  // that the later ones would overtake it if they were sent at once.
  let held = false;
  await page.route('**/api/agent/send*', async (route) => {
    if (!held) {
      held = true;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    await route.continue();
  });
  const composer = page.getByRole('textbox', { name: 'Message' });
  for (const text of ['One of three', 'Two of three', 'Three of three']) {
    await composer.fill(text);
    await composer.press('Enter');
    await expect(composer).toHaveValue('');
  }
  const stored = page.getByTestId('transcript').locator('li[data-message-id]').filter({ hasText: 'of three' });
  await expect(stored).toHaveCount(3);
  await expect(stored).toHaveText([/One of three/, /Two of three/, /Three of three/]);
  expect(held).toBe(true);

  const history = await api.get(`/sessions/${chat.sessionId}/messages`);
  const bodies = history.items.map((m: { body: string }) => m.body).filter((b: string) => b.includes('of three'));
  // Newest first.
  expect(bodies).toEqual(['Three of three', 'Two of three', 'One of three']);
});

// Bots and suggestions in the browser. The built-in bot hands a chat to a person: the customer chats into a
// bot-first type, the bot greets and answers one FAQ, the customer presses
// "Talk to a person", a person is alerted live, sees the history and the
// handoff's reason, and replies; the bot says nothing after the handoff, and
// the customer was told what happens next.
import { expect, test } from '@playwright/test';
import {
  type Api,
  admin,
  agentSends,
  consoleReady,
  createAccount,
  createAgent,
  createSupportType,
  customerOpensChat,
  customerSays,
  noSeriousViolations,
  openChat,
  signIn,
  unique,
  waitForOwner,
  workspaceReady,
} from './fixtures';

const ANSWER = 'Open Settings, then Security, and press Reset password: we e-mail you a link.';

/// An account of its own (no other canned replies compete with the FAQ)
/// with a bot-first type whose built-in bot, Penny, runs in `mode`, and one
/// canned reply: the password reset.
async function botFirstType(api: Api, mode: 'auto' | 'drafts') {
  const account = await createAccount(api);
  const type = await createSupportType(api, { account });
  const bot = await api.send(
    'POST',
    '/agents',
    { account_id: account.id, email: `${unique('bot')}@e2e.example.com`, display_name: 'Penny', role: 'bot', max_concurrent: 50 },
    201,
  );
  await api.send('PUT', `/agents/${bot.id}/presence`, { presence: 'online' }, 200);
  await api.send('PATCH', `/support-types/${type.id}`, { routing: 'bot_first', bot_agent_id: bot.id }, 200);
  await api.send('PUT', `/support-types/${type.id}/bot`, { mode, threshold: 0.3, turn_limit: 6 }, 200);
  await api.send('POST', '/canned-responses', {
    account_id: account.id,
    support_type_id: type.id,
    shortcut: 'reset',
    title: 'How do I reset my password?',
    body: ANSWER,
  }, 201);
  return { account, type };
}

test('a bot answers, the customer asks for a person, and a person takes over', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const { account, type } = await botFirstType(api, 'auto');
  const human = await createAgent(api, [type], { name: 'Hana Human', online: true, account });
  const agent = await signIn(await browser.newContext(), human, '/agent');

  // 1. The bot greets and answers the customer's question.
  const customer = await customerOpensChat(browser, baseURL!, type.slug, 'I forgot my password, how can I reset it?');
  const transcript = customer.getByTestId('transcript');
  await expect(transcript).toContainText('an automated assistant', { timeout: 15_000 });
  await expect(transcript).toContainText(ANSWER, { timeout: 15_000 });
  await expect(customer.getByTestId('chat-status')).toContainText('Penny, an automated assistant');
  const button = customer.getByRole('button', { name: 'Talk to a person' });
  await expect(button).toBeVisible();
  await noSeriousViolations(customer, 'chat page with the bot');

  // A person who opens the session sees that the bot has it.
  let sessionId = '';
  await expect
    .poll(async () => {
      sessionId = (await api.get(`/sessions?support_type_id=${type.id}&status=active`)).items?.[0]?.id ?? '';
      return sessionId;
    }, { timeout: 15_000 })
    .not.toBe('');
  await agent.goto(`/agent/sessions/${sessionId}`);
  await expect(agent.getByTestId('bot-handled')).toContainText('Penny (bot) is handling this chat');
  await agent.goto('/agent');
  await workspaceReady(agent);

  // 2. The customer asks for a person: the person is alerted live.
  await button.click();
  await expect(button).toHaveCount(0, { timeout: 15_000 });
  await expect(agent.getByTestId('bell-count')).toBeVisible({ timeout: 15_000 });
  await agent.getByTestId('bell').click();
  const panel = agent.getByRole('region', { name: 'Notifications' });
  const handoff = panel.getByRole('link').filter({ hasText: 'customer request' });
  await expect(handoff).toBeVisible({ timeout: 15_000 });
  await expect(handoff).toContainText('Talk to a person');
  await handoff.click();

  // The person sees the whole history, and replies.
  const seen = agent.getByTestId('transcript');
  await expect(seen).toContainText('I forgot my password, how can I reset it?');
  await expect(seen).toContainText(ANSWER);
  await agentSends(agent, 'Hi, Hana here. Did the e-mail arrive?');

  // 3–4. The customer was told, reads the person's reply, and the bot said
  // nothing after the handoff.
  await expect(transcript).toContainText('Hi, Hana here. Did the e-mail arrive?', { timeout: 15_000 });
  await expect(transcript).toContainText(/Hana Human has joined the chat|in line|A person will take over/);
  await expect(agent).toHaveURL(new RegExp(`/agent/sessions/${sessionId}$`));
  const messages: { items: { sender_kind: string; body: string; id: number }[] } =
    await api.get(`/sessions/${sessionId}/messages?limit=100`);
  const items = [...messages.items].sort((a, b) => a.id - b.id);
  const lastBot = Math.max(...items.filter((m) => m.sender_kind === 'bot').map((m) => m.id));
  const firstHuman = Math.min(...items.filter((m) => m.sender_kind === 'agent').map((m) => m.id));
  expect(items.filter((m) => m.sender_kind === 'bot').map((m) => m.body)).toHaveLength(2);
  expect(lastBot).toBeLessThan(firstHuman);
  const handoffs = items.filter((m) => m.sender_kind === 'system' && /person|joined|line/.test(m.body));
  expect(handoffs.length, JSON.stringify(items)).toBeGreaterThan(0);
});

test('suggested replies appear above the composer; Tab takes the first, Dismiss hides them', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const account = await createAccount(api);
  const type = await createSupportType(api, { account });
  await api.send('POST', '/canned-responses', {
    account_id: account.id,
    support_type_id: type.id,
    shortcut: 'reset',
    title: 'How do I reset my password?',
    body: ANSWER,
  }, 201);
  const human = await createAgent(api, [type], { online: true, account });
  const chat = await openChat(api, type, 'I forgot my password, how can I reset it?');
  await waitForOwner(api, chat.sessionId, human.id);
  const page = await signIn(await browser.newContext(), human, `/agent/sessions/${chat.sessionId}`);

  const chips = page.getByRole('group', { name: 'Suggested replies' });
  const first = chips.getByRole('button', { name: /How do I reset my password\?/ });
  await expect(first).toBeVisible({ timeout: 15_000 });
  await expect(first).toContainText('%');
  await noSeriousViolations(page, 'workspace with suggested replies');
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.focus();
  await composer.press('Tab');
  await expect(composer).toHaveValue(ANSWER);
  await expect(chips).toHaveCount(0);
  await composer.press('Enter');
  await expect(page.getByTestId('transcript')).toContainText(ANSWER);

  // The next question brings new chips; Dismiss hides them.
  await customerSays(request, chat, 'And how do I reset it on the phone?');
  await expect(first).toBeVisible({ timeout: 15_000 });
  await chips.getByRole('button', { name: 'Dismiss the suggestions' }).click();
  await expect(chips).toHaveCount(0);
});

test('an admin turns on the built-in bot in the support type editor', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const account = await createAccount(api);
  const type = await createSupportType(api, { account });
  const accountAdmin = await createAgent(api, [], { role: 'admin', account });
  const page = await signIn(await browser.newContext(), accountAdmin, `/admin/support-types/${type.id}`);
  await consoleReady(page);
  const form = page.getByRole('form', { name: 'Bot settings' });
  await expect(form.getByLabel('A program, through the API')).toBeChecked();
  await noSeriousViolations(page, 'support type editor with the bot section');

  // A threshold out of range is refused, with the field named.
  await form.getByLabel('The built-in bot', { exact: true }).check();
  await form.getByLabel('Confidence threshold').fill('1.5');
  await form.getByLabel('Confidence threshold').evaluate((e: HTMLInputElement) => e.removeAttribute('max'));
  await form.getByRole('button', { name: 'Save bot settings' }).click();
  await expect(form.getByRole('alert')).toContainText('threshold');

  await form.getByLabel('Confidence threshold').fill('0.4');
  await form.getByLabel('Turn limit').fill('3');
  await form.getByLabel('Handoff keywords').fill('Lawyer, chargeback');
  await form.getByLabel('Instructions for the model').fill('Never promise refunds.');
  await form.getByRole('button', { name: 'Save bot settings' }).click();
  await expect(page.getByTestId('toasts')).toContainText('Saved the bot settings');
  const saved = await api.get(`/support-types/${type.id}/bot`);
  expect(saved).toEqual({
    mode: 'auto',
    threshold: 0.4,
    turn_limit: 3,
    handoff_keywords: ['lawyer', 'chargeback'],
    instructions: 'Never promise refunds.',
  });
});

// A bot in mode drafts: a person sends its replies; the customer's "That
// helped" resolves the chat; the live monitor lists the bots' chats and the
// report counts the outcome with its formula.
test('a drafting bot waits for a person, the customer says it helped, and the console shows the bots', async ({ browser, request, baseURL }) => {
  // Four people in four pages (customer, agent, supervisor on the monitor
  // and the reports): about 17 s on an idle machine, more on a busy one.
  test.setTimeout(90_000);
  const api = await admin(request, baseURL!);
  const { account, type } = await botFirstType(api, 'drafts');
  const human = await createAgent(api, [type], { name: 'Hana Human', online: true, account });
  const agent = await signIn(await browser.newContext(), human, '/agent');
  await workspaceReady(agent);

  // The bot drafts its greeting and answer; the customer sees nothing yet,
  // and Hana is alerted.
  const customer = await customerOpensChat(browser, baseURL!, type.slug, 'I forgot my password, how can I reset it?');
  const transcript = customer.getByTestId('transcript');
  await expect(agent.getByTestId('bell-count')).toBeVisible({ timeout: 15_000 });
  await agent.getByTestId('bell').click();
  const alert = agent.getByRole('region', { name: 'Notifications' }).getByRole('link').filter({ hasText: 'drafted a reply' });
  await expect(alert).toBeVisible({ timeout: 15_000 });
  await alert.click();
  const drafts = agent.getByTestId('bot-draft');
  await expect(drafts).toHaveCount(2, { timeout: 15_000 });
  await expect(drafts.nth(1).getByRole('textbox')).toHaveValue(ANSWER);
  await expect(transcript).not.toContainText(ANSWER);
  await noSeriousViolations(agent, 'workspace with bot drafts');

  // Hana sends the greeting as written and the answer with a line added.
  await drafts.first().getByRole('button', { name: 'Send as the bot' }).click();
  await expect(transcript).toContainText('an automated assistant', { timeout: 15_000 });
  await expect(drafts).toHaveCount(1, { timeout: 15_000 });
  await drafts.first().getByRole('textbox').fill(`${ANSWER} The link is valid for one hour.`);
  await drafts.first().getByRole('button', { name: 'Send as the bot' }).click();
  await expect(transcript).toContainText('The link is valid for one hour.', { timeout: 15_000 });
  await expect(drafts).toHaveCount(0);

  // A supervisor sees the bot's chat on the live monitor.
  const supervisor = await createAgent(api, [], { role: 'admin', account });
  const desk = await signIn(await browser.newContext(), supervisor, '/admin/monitor');
  await consoleReady(desk);
  const botChats = desk.getByTestId('monitor-bot-chats');
  await expect(botChats).toContainText('Penny (bot)', { timeout: 15_000 });
  await expect(botChats.getByRole('link', { name: 'Watch' })).toHaveAttribute('href', /\/agent\/sessions\//);

  // The customer says it helped: the bot resolves the chat.
  await customer.getByRole('button', { name: 'That helped, thanks' }).click();
  await expect(customer.getByTestId('chat-status')).toContainText('resolved', { timeout: 15_000 });
  await expect(desk.getByTestId('no-bot-chats')).toBeVisible({ timeout: 15_000 });

  // The report counts it, with its formula beside it.
  await desk.goto('/admin/reports');
  await consoleReady(desk);
  const figures = desk.getByTestId('report-bot-figures');
  await expect(figures.getByRole('row', { name: /Confirmed resolutions/ })).toContainText('1', { timeout: 15_000 });
  await expect(figures).toContainText('That helped');
  await expect(figures.getByRole('row', { name: /Drafts/ })).toContainText('2 sent (1 edited)');
  await noSeriousViolations(desk, 'reports with the bots section');
});

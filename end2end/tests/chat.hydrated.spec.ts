import { test, expect, request as newRequest, Browser, Page } from '@playwright/test';
import {
  Api,
  DEMO_PASSWORD,
  SupportType,
  admin,
  agentOpensInboxSession,
  agentSends,
  apiLogin,
  createAgent,
  createSupportType,
  customerOpensChat,
  noSeriousViolations,
  onlineAgent,
  signIn,
} from './fixtures';

test('a customer chats with an agent live, the agent resolves, the customer rates', async ({ browser, request, baseURL }) => {
  test.setTimeout(60_000);
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { routing: 'round_robin', csat: true, reasons: ['Answered'] });
  const slug = type.slug;
  const agent = await onlineAgent(browser, api, type, 'Dana Agent');

  // 1. The customer opens a chat; the online agent gets it assigned and sees
  //    it appear without a reload.
  const customer = await customerOpensChat(browser, baseURL!, slug, 'My invoice is wrong');
  await expect(customer.getByTestId('chat-status')).toContainText('Dana Agent joined', { timeout: 15_000 });
  const sessionId = await agentOpensInboxSession(agent);
  await expect(agent.getByTestId('transcript')).toContainText('My invoice is wrong');

  // 2. Messages both ways, with typing indicators both ways.
  await customer.getByLabel('Message', { exact: true }).pressSequentially('Still there');
  await expect(agent.getByTestId('typing')).toContainText('is typing', { timeout: 10_000 });
  await customer.getByLabel('Message', { exact: true }).press('Enter');
  await expect(agent.getByTestId('transcript')).toContainText('Still there');
  await agent.getByLabel('Message', { exact: true }).pressSequentially('Looking at it');
  await expect(customer.getByTestId('typing')).toContainText('Dana Agent is typing', { timeout: 10_000 });
  await agent.getByLabel('Message', { exact: true }).press('Enter');
  await expect(customer.getByTestId('transcript')).toContainText('Looking at it');
  // The agent read the customer's message: "Seen".
  await expect(customer.getByTestId('seen')).toBeVisible({ timeout: 10_000 });

  // 3. The agent resolves with a reason.
  await agent.getByRole('button', { name: 'Resolve', exact: true }).click();
  await agent.getByLabel('Resolution reason').selectOption({ label: 'Answered' });
  await agent.getByRole('button', { name: 'Resolve session' }).click();

  // 4. The customer sees the rating form, gives 5 with a comment; it is stored.
  const form = customer.getByTestId('csat-form');
  await expect(form).toBeVisible({ timeout: 15_000 });
  await form.locator('label').filter({ hasText: '5 out of 5' }).click();
  await expect(form.getByRole('radio', { name: /^5 out of 5/ })).toBeChecked();
  await form.getByLabel('Comment').fill('Quick and kind');
  await form.getByRole('button', { name: 'Send rating' }).click();
  await expect(customer.getByTestId('csat-thanks')).toContainText('5 out of 5');
  expect(await api.get(`/sessions/${sessionId}/csat`)).toMatchObject({ score: 5, comment: 'Quick and kind' });

  // The transcript survives a reload.
  await customer.reload();
  await expect(customer.getByTestId('transcript')).toContainText('Looking at it');
  await expect(customer.getByTestId('csat-thanks')).toBeVisible();
});

test('messages sent while the customer is offline arrive once, in order, when they are back', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { routing: 'round_robin', reasons: ['Answered'] });
  const agent = await onlineAgent(browser, api, type, 'Omar Agent');
  const customer = await customerOpensChat(browser, baseURL!, type.slug, 'Hello?');
  await agentOpensInboxSession(agent);
  await expect(customer.getByTestId('chat-status')).toContainText('Omar Agent joined', { timeout: 15_000 });

  await customer.context().setOffline(true);
  await expect(customer.getByTestId('link-state')).toContainText('offline');
  for (const text of ['First of three', 'Second of three', 'Third of three']) {
    await agentSends(agent, text);
  }
  await customer.context().setOffline(false);
  const transcript = customer.getByTestId('transcript');
  await expect(transcript).toContainText('Third of three', { timeout: 15_000 });
  await expect(customer.getByTestId('link-state')).toHaveCount(0, { timeout: 15_000 });
  const texts = await transcript.locator('li').allInnerTexts();
  const got = texts.filter((t) => t.includes('of three'));
  expect(got.map((t) => t.replace(/^.*?:\s*/s, '').trim())).toEqual(['First of three', 'Second of three', 'Third of three']);
});

test('the chat page and the workspace have no serious accessibility violations', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { routing: 'round_robin', csat: true, reasons: ['Answered'] });
  const slug = type.slug;
  const agent = await onlineAgent(browser, api, type, 'Ada Agent');
  const context = await browser.newContext({ baseURL });
  const start = await context.newPage();
  await start.goto(`/chat/${slug}`);
  await expect(start.getByRole('button', { name: 'Start chat' })).toBeVisible();
  await noSeriousViolations(start, 'chat start');

  const customer = await customerOpensChat(browser, baseURL!, slug, 'Accessible?');
  await agentOpensInboxSession(agent);
  await expect(customer.getByTestId('chat-status')).toContainText('joined', { timeout: 15_000 });
  await noSeriousViolations(customer, 'chat');
  await noSeriousViolations(agent, 'workspace');
});

test('two nodes behind one broker behave as one', async ({ browser, baseURL }) => {
  const port = Number(new URL(baseURL!).port);
  const node1 = `http://127.0.0.1:${port + 1}`;
  const node2 = `http://127.0.0.1:${port + 2}`;
  // The agent's workspace talks to node 2, the customer's chat to node 1.
  const api = await apiLogin(await newRequest.newContext({ baseURL: node2 }), node2, 'admin@example.com', DEMO_PASSWORD);
  const type = await createSupportType(api, { routing: 'round_robin', reasons: ['Answered'] });
  const agent = await onlineAgent(browser, api, type, 'Nia Agent');
  const customer = await customerOpensChat(browser, node1, type.slug, 'Hello from node one');
  await expect(customer.getByTestId('chat-status')).toContainText('Nia Agent joined', { timeout: 15_000 });
  await agentOpensInboxSession(agent);
  await expect(agent.getByTestId('transcript')).toContainText('Hello from node one');
  await agentSends(agent, 'Answer from node two');
  await expect(customer.getByTestId('transcript')).toContainText('Answer from node two', { timeout: 15_000 });
  await customer.getByLabel('Message', { exact: true }).fill('Thanks, node two');
  await customer.getByLabel('Message', { exact: true }).press('Enter');
  await expect(agent.getByTestId('transcript')).toContainText('Thanks, node two', { timeout: 15_000 });
});

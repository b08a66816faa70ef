import { test, expect, request as newRequest } from '@playwright/test';
import {
  admin,
  apiLogin,
  consoleReady,
  createAgent,
  createSupportType,
  noSeriousViolations,
  openChat,
  signIn,
  waitForOwner,
} from './fixtures';

// Sign-ins may wait out the per-IP rate limit (see fixtures.ts).
test.describe.configure({ timeout: 120_000 });

test('the live monitor shows a waiting session appear and leave without a reload, and a supervisor assigns from it', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  // Manual routing: sessions wait until someone takes them.
  const type = await createSupportType(api, { routing: 'manual' });
  const supervisor = await createAgent(api, [], { role: 'supervisor' });
  const page = await signIn(await browser.newContext(), supervisor, '/admin/monitor');
  await consoleReady(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Live queue monitor' })).toBeVisible();
  await expect(page.getByTestId('monitor-live')).toContainText('Connected');
  const row = page.getByTestId('monitor-types').locator(`tr[data-type="${type.name}"]`);
  await expect(row.getByTestId('waiting')).toHaveText('0');

  // A customer arrives: the session appears with its wait, and the type counts it.
  const first = await openChat(api, type, 'Where is my parcel?');
  const waiting = page.getByTestId('monitor-waiting').locator(`li[data-session="${first.sessionId}"]`);
  await expect(waiting).toBeVisible({ timeout: 15_000 });
  await expect(waiting).toContainText(first.customer);
  await expect(waiting).toContainText(/waiting \d+ s/);
  await expect(row.getByTestId('waiting')).toHaveText('1');

  // An agent comes online (their card appears) and picks it over the API:
  // it leaves the monitor, and their load shows it, still without a reload.
  const agent = await createAgent(api, [type], { online: true, maxConcurrent: 3 });
  const card = page.getByTestId('monitor-agents').locator(`li[data-agent="${agent.name}"]`);
  await expect(card.getByTestId('presence')).toHaveText('Online', { timeout: 15_000 });
  await expect(row).toContainText('1 · 0 · 0');
  const asAgent = await apiLogin(await newRequest.newContext({ baseURL }), baseURL!, agent.email, agent.password);
  await asAgent.send('POST', `/sessions/${first.sessionId}/assign`, {}, 200);
  await expect(waiting).toHaveCount(0, { timeout: 15_000 });
  await expect(row.getByTestId('waiting')).toHaveText('0');
  await expect(card.getByTestId('load')).toHaveText('1/3');

  // A second customer; the supervisor assigns them from the monitor, with
  // the workspace's own transfer dialog (the same reassign).
  const second = await openChat(api, type, 'I was charged twice');
  const next = page.getByTestId('monitor-waiting').locator(`li[data-session="${second.sessionId}"]`);
  await expect(next).toBeVisible({ timeout: 15_000 });
  await noSeriousViolations(page, 'live monitor');
  // The click goes to this row's own button, not to a point on the screen:
  // other tests' chats in the same account appear and leave meanwhile, the
  // list shifts under a pointer click, and CI once opened the dialog of
  // another test's session (its targets were another type's agents).
  await next.getByRole('button', { name: 'Assign…' }).dispatchEvent('click');
  const dialog = page.getByRole('dialog', { name: 'Transfer session' });
  // The dialog names whom it moves, so a supervisor sees it is the row meant.
  await expect(dialog.getByTestId('transfer-subject')).toHaveText(new RegExp(`^${second.customer} · `));
  await dialog.getByLabel('Transfer to').selectOption({ label: agent.name });
  await dialog.getByRole('button', { name: 'Transfer session' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Session moved to ${agent.name}.` })).toBeVisible();
  await waitForOwner(api, second.sessionId, agent.id);
  await expect(next).toHaveCount(0, { timeout: 15_000 });
  await expect(card.getByTestId('load')).toHaveText('2/3');
});

test('the bell counts a new assignment live and opens its session', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { routing: 'round_robin' });
  const agent = await createAgent(api, [type], { online: true });
  const page = await signIn(await browser.newContext(), agent, '/agent');
  const bell = page.getByTestId('bell');
  await expect(bell).toHaveAccessibleName('Notifications');
  await expect(page.getByTestId('bell-count')).toHaveCount(0);

  // The engine gives the agent a new session: the bell counts it, live.
  const chat = await openChat(api, type, 'My order never came');
  await waitForOwner(api, chat.sessionId, agent.id);
  await expect(page.getByTestId('bell-count')).toHaveText('1', { timeout: 15_000 });
  await expect(bell).toHaveAccessibleName('Notifications, 1 unread');

  // The panel lists it; opening it goes to the session and clears the count.
  await bell.click();
  const panel = page.getByRole('region', { name: 'Notifications' });
  const item = panel.getByRole('link').filter({ hasText: chat.customer });
  await expect(item).toContainText('assigned to you');
  await expect(item).toContainText('unread');
  await noSeriousViolations(page, 'workspace with the bell open');
  await item.click();
  await expect(page).toHaveURL(new RegExp(`/agent/sessions/${chat.sessionId}$`));
  await expect(page.getByTestId('bell-count')).toHaveCount(0);
  // The server agrees: nothing unread.
  const asAgent = await apiLogin(await newRequest.newContext({ baseURL }), baseURL!, agent.email, agent.password);
  await expect.poll(async () => (await asAgent.get('/notifications/unread')).unread).toBe(0);
});

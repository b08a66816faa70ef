import { test, expect } from '@playwright/test';
import { admin, consoleReady, createAgent, customerOpensChat, noSeriousViolations, signIn, unique } from './fixtures';

// The admin console's whole story, in one chain and through the browser
// only: what the admin sets up is what the agent and the customer then
// meet. Sign-ins may wait out the per-IP rate limit (see fixtures.ts).
test.describe.configure({ timeout: 240_000 });

test('an admin sets up a new support type end to end, and a customer, the agent and the supervisor meet it', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const accountAdmin = await createAgent(api, [], { role: 'admin' });
  const page = await signIn(await browser.newContext(), accountAdmin, '/admin/support-types/new');
  await consoleReady(page);

  // 1. A support type, manually routed so that its sessions wait for a person.
  const slug = unique('story');
  const name = `Story ${slug.slice(6)}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Slug').fill(slug);
  await page.getByLabel('Routing strategy').selectOption({ label: 'Manual' });
  await page.getByRole('button', { name: 'Create support type' }).click();
  await expect(page).toHaveURL(/\/admin\/support-types\/[0-9a-f-]{36}\?created/);
  const typeId = /support-types\/([0-9a-f-]{36})/.exec(page.url())![1];
  await consoleReady(page);

  // Three resolution reasons; the third moves up to second.
  for (const label of ['Answered', 'Parcel lost', 'Refund issued']) {
    await page.getByLabel('New reason').fill(label);
    await page.getByRole('button', { name: 'Add reason' }).click();
    await expect(page.getByTestId('toasts')).toContainText(`Added ${label}`);
  }
  await page.getByRole('button', { name: 'Move Refund issued up' }).click();
  const reasons = page.getByTestId('reasons').locator('li');
  await expect(reasons.nth(1)).toHaveAttribute('data-reason', 'Refund issued');
  await expect
    .poll(async () => ((await api.get(`/support-types/${typeId}/resolution-reasons`)) as { label: string }[]).map((r) => r.label))
    .toEqual(['Answered', 'Refund issued', 'Parcel lost']);

  // A tag rule for the type, tried on a sample first.
  const tag = unique('refund').toLowerCase();
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Tags' }).click();
  await consoleReady(page);
  const rule = page.getByRole('form', { name: 'New tag rule' });
  await rule.getByLabel('Tag', { exact: true }).fill(tag);
  await rule.getByLabel('Tags a session when').selectOption('keyword');
  await rule.getByLabel('Word, expression or reference').fill('refund');
  await rule.getByLabel('Support type').selectOption({ label: name });
  await rule.getByLabel('Test this rule on a sample message').fill('Could I have a refund?');
  await rule.getByRole('button', { name: 'Test rule' }).click();
  await expect(page.getByTestId('rule-test')).toHaveText(`Matches: the session would be tagged \u201c${tag}\u201d.`);
  await rule.getByRole('button', { name: 'Add rule' }).click();
  await expect(page.getByTestId('toasts')).toContainText('Rule added');

  // A canned reply for the type.
  const shortcut = unique('sorry').toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Canned' }).click();
  await consoleReady(page);
  const canned = page.getByRole('form', { name: 'New canned reply' });
  await canned.getByLabel('Shortcut').fill(shortcut);
  await canned.getByLabel('Title').fill('Refund on its way');
  await canned.getByLabel('Offered in').selectOption({ label: name });
  await canned.getByLabel('Reply', { exact: true }).fill('Your refund is on its way.');
  await canned.getByRole('button', { name: 'Add canned reply' }).click();
  await expect(page.getByTestId('toasts')).toContainText('Canned reply added');

  // 2. An agent with the type's skill, who signs in elsewhere and goes online.
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Agents' }).click();
  await consoleReady(page);
  await page.getByRole('link', { name: 'New agent' }).click();
  await consoleReady(page);
  const email = `${unique('story')}@e2e.example.com`;
  const agentName = `Story agent ${email.slice(6, 14)}`;
  await page.getByLabel('Name', { exact: true }).fill(agentName);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Role').selectOption('agent');
  await page.getByLabel(name, { exact: true }).check();
  await page.getByLabel('Password').fill('story password');
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/admin\/agents\/[0-9a-f-]{36}\?created/);
  const agent = await signIn(await browser.newContext(), { email, password: 'story password' });
  await agent.getByLabel('Presence').selectOption('online');
  await expect(agent.getByTestId('toasts')).toContainText('You are online');

  // 4. The admin watches the live monitor.
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Live monitor' }).click();
  await consoleReady(page);
  await expect(page.getByTestId('monitor-live')).toContainText('Connected');
  const typeRow = page.getByTestId('monitor-types').locator(`tr[data-type="${name}"]`);
  await expect(typeRow.getByTestId('waiting')).toHaveText('0');

  // 3. A customer writes in with the rule's word, on the type's own chat page.
  const word = unique('parcel').toLowerCase().replace(/[^a-z0-9]/g, '');
  const customer = await customerOpensChat(browser, baseURL!, slug, `I want a refund for ${word} please`);
  await expect(customer.getByText(`I want a refund for ${word} please`)).toBeVisible();
  // The session appears on the monitor without a reload, and in the agent's queue.
  const waiting = page.getByTestId('monitor-waiting').locator('li[data-session]').filter({ hasText: 'Casey Customer' });
  await expect(typeRow.getByTestId('waiting')).toHaveText('1', { timeout: 15_000 });
  await expect(waiting).toHaveCount(1);
  const sessionId = (await waiting.getAttribute('data-session'))!;
  await expect(agent.getByTestId('queue').locator(`li[data-session-id="${sessionId}"]`)).toBeVisible({ timeout: 15_000 });
  // The rule tagged it.
  await expect
    .poll(async () => ((await api.get(`/sessions/${sessionId}/tags`)) as { name: string }[]).map((t) => t.name), { timeout: 15_000 })
    .toContain(tag);

  // The supervisor assigns it from the monitor; it leaves the monitor, and
  // the agent's bell counts it, live.
  await waiting.getByRole('button', { name: 'Assign…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Transfer session' });
  await dialog.getByLabel('Transfer to').selectOption({ label: agentName });
  await dialog.getByRole('button', { name: 'Transfer session' }).click();
  await expect(waiting).toHaveCount(0, { timeout: 15_000 });
  await expect(typeRow.getByTestId('waiting')).toHaveText('0');
  await expect(agent.getByTestId('bell-count')).toHaveText('1', { timeout: 15_000 });

  // The agent opens it from the bell, answers with the canned reply, and
  // resolves it with the second reason.
  await agent.getByTestId('bell').click();
  await agent.getByRole('region', { name: 'Notifications' }).getByRole('link').filter({ hasText: 'Casey Customer' }).click();
  await expect(agent).toHaveURL(new RegExp(`/agent/sessions/${sessionId}$`));
  const composer = agent.getByLabel('Message', { exact: true });
  await composer.pressSequentially(`/${shortcut}`);
  const offered = agent.getByRole('listbox', { name: 'Canned replies' });
  await expect(offered.getByRole('option')).toHaveCount(1);
  await expect(offered.getByRole('option')).toContainText('Refund on its way');
  await composer.press('Enter');
  await expect(composer).toHaveValue('Your refund is on its way.');
  await composer.press('Enter');
  await expect(customer.getByTestId('transcript')).toContainText('Your refund is on its way.');
  await agent.getByRole('button', { name: 'Resolve', exact: true }).click();
  await agent.getByLabel('Resolution reason').selectOption({ label: 'Refund issued' });
  await agent.getByRole('dialog', { name: 'Resolve session' }).getByRole('button', { name: 'Resolve session' }).click();
  await expect
    .poll(async () => {
      const s = await api.get(`/sessions/${sessionId}`);
      const reasons = (await api.get(`/support-types/${typeId}/resolution-reasons`)) as { id: string; label: string }[];
      return `${s.status}:${reasons.find((r) => r.id === s.resolution_reason_id)?.label}`;
    })
    .toBe('resolved:Refund issued');

  // 6. Search finds it by a word of the customer's message, narrowed to the type.
  await page.goto(`/search?q=${word}&type=${typeId}`);
  const results = page.getByTestId('search-results').locator('li');
  await expect(results).toHaveCount(1);
  await expect(results.first()).toContainText(name);
  await expect(page.getByLabel('Support type')).toHaveValue(typeId);
  await noSeriousViolations(page, 'search narrowed to the type');
  await results.first().getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/agent/sessions/${sessionId}$`));
});

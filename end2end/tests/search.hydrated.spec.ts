import { test, expect } from '@playwright/test';
import { admin, createAgent, createSupportType, noSeriousViolations, openChat, signIn, unique } from './fixtures';

test.describe.configure({ timeout: 120_000 });


test("search finds a session by a word of its message, and never another account's", async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { routing: 'manual' });
  const boss = await createAgent(api, [type], { role: 'admin', online: true });
  // A word no other session has; the same word in another account's session.
  const word = unique('parcel').replace(/-/g, '');
  const ours = await openChat(api, type, `My order ${word} never arrived`);
  const accounts: { id: string; slug: string }[] = await api.get('/accounts');
  const other = accounts.find((a) => a.slug !== 'northwind');
  expect(other, 'the demo data has a second account').toBeDefined();
  const slug = unique('e2e');
  const theirType = await api.send(
    'POST',
    '/support-types',
    { account_id: other!.id, slug, name: `E2E ${slug.slice(4)}`, routing: 'manual' },
    201,
  );
  const theirs = await openChat(api, { id: theirType.id, slug: theirType.slug, name: theirType.name, reasons: [] }, `Where is ${word}?`);

  // The box in the header of every signed-in page.
  const page = await signIn(await browser.newContext(), boss, '/agent');
  await page.getByRole('searchbox', { name: 'Search sessions' }).first().fill(word);
  await page.getByRole('searchbox', { name: 'Search sessions' }).first().press('Enter');
  await expect(page).toHaveURL(new RegExp(`/search\\?q=${word}`));
  const results = page.getByTestId('search-results');
  await expect(results.getByRole('link')).toHaveCount(1);
  await expect(results).toContainText(ours.customer);
  await expect(results).not.toContainText(theirs.customer);
  await expect(results.locator('mark')).toHaveText(word);
  await noSeriousViolations(page, 'search results');

  // A word nobody wrote: said so, plainly.
  await page.goto(`/search?q=${unique('nothing').replace(/-/g, '')}`);
  await expect(page.getByRole('status').filter({ hasText: 'No sessions match' })).toBeVisible();

  // The customer's name finds it too, and the result opens the session.
  await page.goto(`/search?q=${encodeURIComponent(ours.customer)}`);
  await results.getByRole('link').first().click();
  await expect(page).toHaveURL(new RegExp(`/agent/sessions/${ours.sessionId}$`));
  await expect(page.getByTestId('transcript')).toContainText(word);
});

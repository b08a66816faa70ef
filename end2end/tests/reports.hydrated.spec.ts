import { test, expect, request as newRequest } from '@playwright/test';
import { admin, apiLogin, createAgent, createSupportType, noSeriousViolations, openChat, signIn, waitForOwner } from './fixtures';

// Sign-ins may wait out the per-IP rate limit (see fixtures.ts).
test.describe.configure({ timeout: 120_000 });


/// The CSV's rows as cells (the report table's cells hold no commas or quotes).
function csvRows(text: string): string[][] {
  return text.trim().split('\n').map((line) => line.split(','));
}

test('resolutions show in the reasons chart, live; a bar lists exactly its sessions, the CSV has the table\'s numbers', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { reasons: ['Refund issued', 'Explained the bill', 'Duplicate'] });
  const agent = await createAgent(api, [type], { online: true });
  // Its own request context: signing in where the admin's cookie lives would end that session.
  const asAgent = await apiLogin(await newRequest.newContext({ baseURL }), baseURL!, agent.email, agent.password);

  // Two customers, both resolved with the second reason.
  const chats = [await openChat(api, type, 'My bill is wrong'), await openChat(api, type, 'Why was I charged twice?')];
  for (const chat of chats) {
    await waitForOwner(api, chat.sessionId, agent.id);
    await asAgent.send('POST', `/sessions/${chat.sessionId}/resolve`, { reason_id: type.reasons[1].id }, 200);
  }
  // The reports consumer has counted them.
  await expect
    .poll(async () => (await api.get(`/reports?support_type_id=${type.id}`)).totals.resolved, { timeout: 15_000 })
    .toBe(2);

  const manager = await createAgent(api, [], { role: 'supervisor' });
  const page = await signIn(await browser.newContext(), manager, `/admin/reports?support_type_id=${type.id}`);
  const report = page.getByTestId('report');
  await expect(page.getByRole('heading', { level: 1, name: 'Reports' })).toBeVisible();

  // The reasons chart shows today's two resolutions under their reason.
  const reasons = report.locator('[data-chart="reasons"]');
  await expect(reasons).toContainText('Explained the bill');
  // Its bars are links, so the chart is a labelled group rather than an image.
  await expect(reasons.locator('svg[role="group"] > title')).toHaveText('Resolution reasons');
  const reasonRows = reasons.locator('details tbody tr');
  await expect(reasonRows).toHaveCount(1);
  await expect(reasonRows.first()).toContainText('Explained the bill');
  await expect(reasonRows.first().locator('td').last()).toHaveText('2');
  await noSeriousViolations(page, 'reports page');

  // Live: a third resolution moves the chart without a reload.
  await expect(page.getByTestId('report-live')).toContainText('Connected');
  const third = await openChat(api, type, 'A third question');
  await waitForOwner(api, third.sessionId, agent.id);
  await asAgent.send('POST', `/sessions/${third.sessionId}/resolve`, { reason_id: type.reasons[1].id }, 200);
  await expect(reasonRows.first().locator('td').last()).toHaveText('3', { timeout: 15_000 });
  chats.push(third);

  // The CSV has the same cells as the table, row for row.
  const query = new URL(await page.getByRole('link', { name: 'Download the table (CSV)' }).getAttribute('href') ?? '', baseURL).search;
  const res = await request.get(`/api/v1/reports/export.csv${query}`, { headers: api.headers() });
  expect(res.status(), await res.text()).toBe(200);
  expect(res.headers()['content-type']).toContain('text/csv');
  const csv = csvRows(await res.text());
  const table = report.getByTestId('report-table');
  const header = await table.locator('thead th').allTextContents();
  expect(csv[0]).toEqual(header);
  const rows = table.locator('tbody tr');
  expect(await rows.count()).toBe(csv.length - 1);
  for (let i = 0; i < csv.length - 1; i++) {
    // An empty cell renders as a blank text node.
    const cells = (await rows.nth(i).locator('td').allTextContents()).map((c) => c.trim());
    expect(cells, `row ${i}`).toEqual(csv[i + 1]);
  }
  const total = csv[csv.length - 1];
  expect(total[0]).toBe('Total');
  expect(total[header.indexOf('resolved')]).toBe('3');

  // The reason's bar lists exactly the three sessions it counts.
  await reasons.locator('a').first().click();
  await expect(page).toHaveURL(/\/admin\/reports\/sessions\?/);
  const counted = page.getByTestId('counted-sessions').locator('tbody tr');
  await expect(counted).toHaveCount(3);
  for (const chat of chats) await expect(page.getByTestId('counted-sessions')).toContainText(chat.customer);
  await noSeriousViolations(page, 'drill-down page');
});

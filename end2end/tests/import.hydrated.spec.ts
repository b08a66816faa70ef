import { test, expect } from '@playwright/test';
import { admin, createAgent, createSupportType, noSeriousViolations, signIn, unique } from './fixtures';

test.describe.configure({ timeout: 120_000 });


/// A generic JSONL export: two conversations of `slug`'s group, one of a
/// group this account has no type for, and a line that is not JSON.
function exportFile(slug: string, adminEmail: string): string {
  const conversation = (id: string, group: string, agent: string, day: string) =>
    JSON.stringify({
      id,
      type: group,
      status: 'resolved',
      created_at: `2024-03-${day}T09:00:00Z`,
      resolved_at: `2024-03-${day}T09:30:00Z`,
      customer: { id: `c-${id}`, email: `${id}@customer.e2e.example.com` },
      agent: { email: agent, name: 'Old Hand' },
      csat: 4,
      messages: [
        { from: 'customer', body: 'Where is my order?', created_at: `2024-03-${day}T09:00:00Z` },
        { from: 'agent', author_email: agent, body: '<p>It ships <b>today</b>.</p>', html: true, created_at: `2024-03-${day}T09:05:00Z` },
      ],
    });
  return [
    conversation('h-1', slug, adminEmail, '04'),
    conversation('h-2', slug, 'old.hand@legacy.e2e.example.com', '05'),
    conversation('h-3', 'Mystery desk', 'old.hand@legacy.e2e.example.com', '06'),
    '{"id": "h-4", "status": ',
  ].join('\n');
}

test('an admin uploads an export, reads its dry run, maps a group and an agent, applies it and sees it complete', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api);
  const boss = await createAgent(api, [type], { role: 'admin' });
  const page = await signIn(await browser.newContext(), boss, '/admin/import');
  await expect(page.getByRole('heading', { level: 1, name: 'Import history' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Import' })).toHaveAttribute('aria-current', 'page');
  await expect(page.locator('main[data-hydrated="true"]')).toBeVisible();
  await noSeriousViolations(page, 'import page');

  // A file that is not the format named is refused, saying what is missing.
  const file = exportFile(type.slug, boss.email);
  await page.getByLabel('Format').selectOption('deskpro');
  await page.getByTestId('import-file').setInputFiles({ name: 'history.jsonl', mimeType: 'application/json', buffer: Buffer.from(file) });
  await page.getByRole('button', { name: 'Upload and check' }).click();
  await expect(page.getByTestId('import-error')).toBeVisible();
  await expect(page.getByTestId('import-error')).not.toHaveText('');

  // The right format: the dry run opens.
  await page.getByLabel('Format').selectOption('jsonl');
  await page.getByLabel('Source label (optional)').fill(unique('legacy'));
  await page.getByRole('button', { name: 'Upload and check' }).click();
  await expect(page).toHaveURL(/\/admin\/import\/[0-9a-f-]{36}$/);
  const runId = page.url().split('/').pop()!;
  await expect(page.getByTestId('import-status')).toHaveText('Ready to apply');
  const plan = page.getByTestId('import-plan');
  const figure = (label: string) => plan.locator('div').filter({ has: page.getByText(label, { exact: true }) }).locator('dd');
  await expect(figure('Conversations in the file')).toHaveText('4');
  await expect(figure('Sessions to create')).toHaveText('2');
  await expect(figure('Skipped')).toHaveText('2');
  await expect(figure('Agents to create (deactivated)')).toHaveText('1');
  // Each skip names its record and why.
  const skips = page.getByTestId('import-skips');
  await expect(skips).toContainText('line 4');
  await expect(skips).toContainText('No support type for its group');
  await noSeriousViolations(page, 'dry run');

  // Map the unknown group to the type and the unknown agent to the admin.
  await page.getByLabel('Mystery desk').selectOption({ label: type.name });
  await page.getByLabel('Old Hand <old.hand@legacy.e2e.example.com>').selectOption({ label: `${boss.name} <${boss.email}>` });
  await expect(page.getByRole('button', { name: 'Apply import' })).toBeDisabled();
  await page.getByRole('button', { name: 'Check again with this mapping' }).click();
  await expect(figure('Sessions to create')).toHaveText('3');
  await expect(figure('Skipped')).toHaveText('1');
  await expect(figure('Agents to create (deactivated)')).toHaveText('0');
  await expect(page.getByTestId('import-groups')).toContainText(`${type.name} (mapped)`);

  // Apply: the progress bar follows the run over the WebSocket to its end.
  await expect(page.getByTestId('import-live')).toContainText('Connected');
  await page.getByRole('button', { name: 'Apply import' }).click();
  await expect(page.getByTestId('import-status')).toHaveText('Completed', { timeout: 30_000 });
  await expect(page.getByTestId('import-progress')).toHaveAttribute('aria-valuenow', '4');
  await expect(page.getByTestId('import-progress-text')).toContainText('3 created, 0 already imported, 1 skipped');
  await expect(page.getByRole('button', { name: /Apply import|Resume import/ })).toHaveCount(0);

  // The API agrees, and the sessions are there with their original dates.
  const run = await api.get(`/imports/${runId}`);
  expect([run.status, run.created, run.skipped]).toEqual(['completed', 3, 1]);
  const report = await api.get(`/reports?support_type_id=${type.id}&from=2024-03-01&to=2024-03-31`);
  expect(report.totals.resolved).toBe(3);

  // The list shows the run.
  await page.getByRole('link', { name: 'All imports' }).click();
  const row = page.getByTestId('import-runs').locator('tr').filter({ has: page.getByRole('link', { name: 'history.jsonl' }) }).first();
  await expect(row).toContainText('Completed');
  await expect(row).toContainText('4 of 4');
});

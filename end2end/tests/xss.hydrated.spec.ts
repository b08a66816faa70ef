import { test, expect } from '@playwright/test';

// Hostile text in every place a customer or agent can write. Each payload
// would set window.__xss or open a dialog if it ever became markup.
const PAYLOADS = [
  '<script>window.__xss = 1; alert(1)</script>',
  '<img src=x onerror="window.__xss = 2; alert(2)">',
  '<svg onload="window.__xss = 3; alert(3)"><circle r="5"/></svg>',
  '<a href="javascript:window.__xss = 4; alert(4)">click me</a>',
  '&lt;b&gt;entities stay literal&lt;/b&gt; &amp;amp; &#60;i&#62;',
];

test('chat messages, customer names, notes and tags render as inert text', async ({ page, baseURL }) => {
  const dialogs: string[] = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });

  // A customer opens a chat with a hostile name and first message.
  const opened = await page.request.post('/api/v1/chat/billing/sessions', {
    data: { name: PAYLOADS[1], email: 'mallory@example.net', message: PAYLOADS[0] },
  });
  expect(opened.status()).toBe(201);
  const { session, token } = await opened.json();
  for (const body of PAYLOADS.slice(1)) {
    const sent = await page.request.post(`/api/v1/sessions/${session.id}/messages`, {
      headers: { Authorization: `Bearer ${token}` },
      data: { body },
    });
    expect(sent.status()).toBe(201);
  }

  // A supervisor signs in and adds a hostile note and a tag.
  await page.goto('/login?next=/agent');
  await page.getByLabel('E-mail address').fill('supervisor@example.com');
  await page.getByLabel('Password').fill('demo-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in-as')).toBeVisible();
  // The session cookie is Secure (production mode); Playwright's request
  // client will not send it over http, so pass it by hand like a browser would.
  const session_cookie = (await page.context().cookies()).find((c) => c.name === 'sb_session');
  expect(session_cookie).toBeDefined();
  const origin = { Origin: baseURL!, Cookie: `sb_session=${session_cookie!.value}` };
  const note = await page.request.post(`/api/v1/sessions/${session.id}/notes`, {
    headers: origin, data: { body: PAYLOADS[2] + ' ' + PAYLOADS[3] },
  });
  expect(note.status()).toBe(201);
  const tag = await page.request.post(`/api/v1/sessions/${session.id}/tags`, {
    headers: origin, data: { name: 'javascript:void' },
  });
  expect(tag.status()).toBe(200);
  // Markup is not a valid tag name at all.
  const badTag = await page.request.post(`/api/v1/sessions/${session.id}/tags`, {
    headers: origin, data: { name: '<b onmouseover=alert(5)>x</b>' },
  });
  expect(badTag.status()).toBe(422);

  await page.goto(`/agent/sessions/${session.id}`);
  const transcript = page.getByTestId('transcript');
  for (const p of PAYLOADS) {
    await expect(transcript).toContainText(p);
  }
  await expect(page.getByTestId('customer-name')).toHaveText(PAYLOADS[1]);
  await expect(page.getByTestId('notes')).toContainText(PAYLOADS[2]);
  await expect(page.getByTestId('tags')).toContainText('javascript:void');
  // No element was created from the text, no script ran, no dialog opened.
  const main = page.locator('main');
  await expect(main.locator('img, svg circle, a[href^="javascript"], script')).toHaveCount(0);
  // Nothing anywhere on the page carries a handler that could still fire later
  // (an image's onerror, say).
  await expect(page.locator('[onerror], [onload], [onmouseover], [href^="javascript"]')).toHaveCount(0);
  // A dialog opened while rendering blocks the page until the handler above
  // dismisses it (recording it first), so once this evaluate has answered,
  // any such dialog is in `dialogs`.
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  expect(dialogs).toEqual([]);
});

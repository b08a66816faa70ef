import { test, expect, type Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import {
  admin,
  agentOpensInboxSession,
  agentSends,
  createAgent,
  createSupportType,
  customerOpensChat,
  onlineAgent,
  openChat,
  signIn,
  waitForOwner,
} from './fixtures';

test.describe.configure({ timeout: 90_000 });

// A small but real PDF, and a 4×4 PNG.
const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n' +
    'trailer << /Root 1 0 R >>\n%%EOF\n',
);
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM4YWMDRwzEcQAREhQBbrqBkwAAAABJRU5ErkJggg==',
  'base64',
);

/** Pastes a 640×480 screenshot (drawn on a canvas) into the field labelled `label`. */
async function pasteScreenshot(page: Page, label: string) {
  const field = page.getByLabel(label, { exact: true });
  await field.focus();
  await field.evaluate(async (el) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    const g = canvas.getContext('2d')!;
    g.fillStyle = '#4f46e5';
    g.fillRect(0, 0, 640, 480);
    g.fillStyle = '#ffffff';
    g.fillRect(40, 40, 200, 120);
    const blob: Blob = await new Promise((done) => canvas.toBlob((b) => done(b!), 'image/png'));
    const data = new DataTransfer();
    data.items.add(new File([blob], 'image.png', { type: 'image/png' }));
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  });
}

test('a customer pastes a screenshot and attaches a PDF; the agent sees both live, opens the image, downloads the PDF, and sends an image back', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { routing: 'round_robin' });
  const agent = await onlineAgent(browser, api, type, 'Dana Files');
  const customer = await customerOpensChat(browser, baseURL!, type.slug, 'The checkout shows an error');
  await expect(customer.getByTestId('chat-status')).toContainText('Dana Files joined', { timeout: 15_000 });
  await agentOpensInboxSession(agent);

  // The customer pastes a screenshot and picks a PDF; each shows its upload
  // and is ready before the message goes.
  await pasteScreenshot(customer, 'Message');
  await customer.getByTestId('attach-input').setInputFiles({ name: 'invoice.pdf', mimeType: 'application/pdf', buffer: PDF });
  const tray = customer.getByTestId('upload-tray');
  await expect(tray.getByTestId('upload-ready')).toHaveCount(2, { timeout: 15_000 });
  await expect(tray).toContainText('image.png');
  await expect(tray).toContainText('invoice.pdf');
  // A file the account does not accept says why, next to its name, and
  // does not stop the others.
  await customer.getByTestId('attach-input').setInputFiles({
    name: 'setup.exe',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('4d5a90000300000004000000ffff0000', 'hex'),
  });
  await expect(tray.getByTestId('upload-error')).toContainText('not accepted');
  await tray.getByRole('button', { name: 'Remove setup.exe' }).click();
  const field = customer.getByLabel('Message', { exact: true });
  await field.fill('Here is what I see');
  await field.press('Enter');
  await expect(tray).toBeHidden();

  // The agent sees the thumbnail, with its size reserved, and the PDF card, live.
  const transcript = agent.getByTestId('transcript');
  await expect(transcript).toContainText('Here is what I see', { timeout: 15_000 });
  const thumbnail = transcript.getByTestId('attachment-thumbnail');
  await expect(thumbnail).toBeVisible();
  const img = thumbnail.locator('img');
  await expect(img).toHaveAttribute('width', '320');
  await expect(img).toHaveAttribute('height', '240');
  await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(320);
  const card = transcript.getByTestId('attachment-file');
  await expect(card).toContainText('invoice.pdf');
  await expect(card).toContainText('application/pdf');

  // The lightbox shows the full image, with a download button.
  await thumbnail.click();
  const lightbox = agent.getByTestId('lightbox');
  await expect(lightbox).toBeVisible();
  await expect.poll(() => lightbox.locator('img').evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(640);
  await expect(lightbox.getByRole('link', { name: 'Download' })).toBeVisible();
  await lightbox.getByRole('button', { name: 'Close' }).click();
  await expect(lightbox).toBeHidden();

  // The PDF downloads byte-identical.
  const [download] = await Promise.all([agent.waitForEvent('download'), card.click()]);
  expect(download.suggestedFilename()).toBe('invoice.pdf');
  expect(Buffer.compare(await readFile((await download.path())!), PDF)).toBe(0);

  // The agent sends an image back; the customer sees its thumbnail, loaded
  // through a signed link (the chat page has no cookie).
  await agent.getByTestId('attach-input').setInputFiles({ name: 'diagram.png', mimeType: 'image/png', buffer: PNG });
  await expect(agent.getByTestId('upload-ready')).toHaveCount(1, { timeout: 15_000 });
  await agentSends(agent, 'This is where to click');
  const back = customer.getByTestId('transcript').getByTestId('attachment-thumbnail').last();
  await expect(back).toBeVisible({ timeout: 15_000 });
  await expect(back.locator('img')).toHaveAttribute('src', /signature=/);
  await expect.poll(() => back.locator('img').evaluate((i: HTMLImageElement) => i.naturalWidth), { timeout: 10_000 }).toBe(4);
});

test('files that could run are downloaded or shown as images, and nothing in them runs', async ({ browser, request, baseURL }) => {
  const api = await admin(request, baseURL!);
  const type = await createSupportType(api, { routing: 'round_robin' });
  const agent = await createAgent(api, [type], { online: true });
  const chat = await openChat(api, type, 'Files');
  await waitForOwner(api, chat.sessionId, agent.id);

  const files = [
    { name: 'logo.svg', body: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>') },
    { name: 'page.html', body: Buffer.from('<!DOCTYPE html><html><body><script>alert(3)</script></body></html>') },
    { name: 'cat.png', body: Buffer.concat([PNG, Buffer.from('<html><script>alert(4)</script></html>')]) },
  ];
  const ids: string[] = [];
  for (const f of files) {
    const res = await request.post(`/api/v1/sessions/${chat.sessionId}/attachments`, {
      headers: { Authorization: `Bearer ${chat.token}` },
      multipart: { file: { name: f.name, mimeType: 'application/octet-stream', buffer: f.body } },
    });
    expect(res.status(), await res.text()).toBe(201);
    ids.push((await res.json()).id);
  }
  const sent = await request.post(`/api/v1/sessions/${chat.sessionId}/messages`, {
    headers: { Authorization: `Bearer ${chat.token}` },
    data: { body: 'files', attachment_ids: ids },
  });
  expect(sent.status(), await sent.text()).toBe(201);

  const context = await browser.newContext();
  const page = await signIn(context, agent, `/agent/sessions/${chat.sessionId}`);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  // The SVG and the HTML page are downloads: the browser never renders them.
  for (const id of ids.slice(0, 2)) {
    const download = page.waitForEvent('download');
    await page.goto(`/api/v1/attachments/${id}`).catch(() => undefined);
    await download;
  }
  // The polyglot is shown as an image, in a sandbox, its page never parsed.
  const res = await page.goto(`/api/v1/attachments/${ids[2]}`);
  expect(res!.headers()['content-type']).toBe('image/png');
  expect(res!.headers()['content-security-policy']).toBe("sandbox; default-src 'none'");
  await page.waitForTimeout(500);
  // The transcript renders them as files and an image, and nothing ran.
  await page.goto(`/agent/sessions/${chat.sessionId}`);
  await expect(page.getByTestId('transcript').getByTestId('attachment-file')).toHaveCount(2);
  await expect(page.getByTestId('transcript').getByTestId('attachment-thumbnail')).toHaveCount(1);
  expect(dialogs).toEqual([]);
});

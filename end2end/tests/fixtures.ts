// Shared set-up for the end-to-end tests: the demo admin's API session, unique
// support types and agents in the demo account "Northwind", customers opening
// chats, and agents signed in inside a browser context.
//
// The server runs in production mode, so the session cookie is `Secure`:
// Playwright's request client does not send it over http by itself, so every
// call passes `Cookie` and `Origin` by hand, like a browser would.
//
// Sign-ins and chat openings are rate limited per client IP and every test
// shares 127.0.0.1: the servers run with RATE_LIMIT_SCALE (playwright.config.ts)
// so that the whole suite stays far below the limits, and the admin signs in
// once per worker. A 429 fails the test at once, naming the setting, rather
// than waiting out a window. (The limits themselves are tested in
// domain/tests/auth.rs and server/tests/auth_http.rs, on a clock they control.)

import { expect, type APIRequestContext, type APIResponse, type Browser, type BrowserContext, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

export const DEMO_PASSWORD = 'demo-password';
/// Passwords for agents the tests create (12 characters at least).
export const AGENT_PASSWORD = 'end-to-end password';

/// A name no other test (or run) uses.
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

const RATE_LIMITED = 'rate limited: the suite outgrew RATE_LIMIT_SCALE in end2end/playwright.config.ts';

/// Hands the response back, failing the test on a 429.
async function notRateLimited(res: APIResponse): Promise<APIResponse> {
  if (res.status() === 429) throw new Error(`${RATE_LIMITED}: ${await res.text()}`);
  return res;
}

/// An API session: the cookie and origin to send with every call.
export class Api {
  constructor(
    readonly request: APIRequestContext,
    readonly baseURL: string,
    readonly cookie: string,
  ) {}

  headers(): Record<string, string> {
    return { Cookie: `sb_session=${this.cookie}`, Origin: this.baseURL };
  }

  async get(path: string): Promise<any> {
    const res = await this.request.get(`/api/v1${path}`, { headers: this.headers() });
    expect(res.status(), `GET ${path}: ${await res.text()}`).toBe(200);
    return res.json();
  }

  async send(method: 'POST' | 'PUT' | 'PATCH', path: string, data: unknown, status?: number): Promise<any> {
    const res = await this.request.fetch(`/api/v1${path}`, { method, headers: this.headers(), data });
    const text = await res.text();
    if (status !== undefined) expect(res.status(), `${method} ${path}: ${text}`).toBe(status);
    else expect(res.ok(), `${method} ${path}: ${res.status()} ${text}`).toBeTruthy();
    return text ? JSON.parse(text) : undefined;
  }
}

/// Signs in through `POST /api/v1/auth/login` and returns the API session.
export async function apiLogin(request: APIRequestContext, baseURL: string, email: string, password: string): Promise<Api> {
  const res = await notRateLimited(
    await request.post('/api/v1/auth/login', { headers: { Origin: baseURL }, data: { email, password } }),
  );
  expect(res.status(), `login ${email}: ${await res.text()}`).toBe(200);
  const setCookie = res.headersArray().find((h) => h.name.toLowerCase() === 'set-cookie')?.value ?? '';
  const token = /sb_session=([^;]+)/.exec(setCookie)?.[1];
  expect(token, 'the login sets the session cookie').toBeTruthy();
  return new Api(request, baseURL, token!);
}

let adminSession: Promise<string> | undefined;

/// The demo global admin (`admin@example.com`), signed in once per worker.
export async function admin(request: APIRequestContext, baseURL: string): Promise<Api> {
  adminSession ??= apiLogin(request, baseURL, 'admin@example.com', DEMO_PASSWORD).then((a) => a.cookie);
  return new Api(request, baseURL, await adminSession);
}

/// The demo account "Northwind" (slug `northwind`).
export async function northwind(api: Api): Promise<{ id: string; slug: string; name: string }> {
  const accounts: { id: string; slug: string; name: string }[] = await api.get('/accounts');
  const account = accounts.find((a) => a.slug === 'northwind');
  expect(account, 'the demo data has Northwind').toBeDefined();
  return account!;
}

/// A new account of its own, for a test whose data would crowd Northwind's
/// shared views (the live monitor lists an account's 50 longest waits).
export async function createAccount(api: Api): Promise<{ id: string; slug: string; name: string }> {
  const slug = unique('acct');
  return api.send('POST', '/accounts', { slug, name: `Account ${slug.slice(5)}` }, 201);
}

export interface SupportTypeOptions {
  /// The account; Northwind when absent.
  account?: { id: string };
  routing?: 'round_robin' | 'least_loaded' | 'manual' | 'bot_first';
  csat?: boolean;
  reasons?: string[];
  reasonRequired?: boolean;
  escalationPriorityBump?: number;
}

export interface SupportType {
  id: string;
  slug: string;
  name: string;
  reasons: { id: string; label: string }[];
}

/// A new support type (in Northwind unless told) with a unique slug, and its resolution reasons.
export async function createSupportType(api: Api, options: SupportTypeOptions = {}): Promise<SupportType> {
  const account = options.account ?? (await northwind(api));
  const slug = unique('e2e');
  const name = `E2E ${slug.slice(4)}`;
  const type = await api.send(
    'POST',
    '/support-types',
    {
      account_id: account.id,
      slug,
      name,
      routing: options.routing ?? 'round_robin',
      csat_enabled: options.csat ?? false,
      reason_required: options.reasonRequired ?? (options.reasons?.length ?? 0) > 0,
      escalation_priority_bump: options.escalationPriorityBump ?? 0,
    },
    201,
  );
  const reasons = [];
  for (const label of options.reasons ?? []) {
    reasons.push(await api.send('POST', `/support-types/${type.id}/resolution-reasons`, { label }, 201));
  }
  return { id: type.id, slug: type.slug, name: type.name, reasons };
}

export interface Agent {
  id: string;
  email: string;
  name: string;
  password: string;
}

/// A new human agent (of Northwind unless told) with a password, serving `types`.
export async function createAgent(
  api: Api,
  types: SupportType[],
  options: {
    name?: string;
    role?: 'agent' | 'supervisor' | 'admin';
    online?: boolean;
    maxConcurrent?: number;
    account?: { id: string };
  } = {},
): Promise<Agent> {
  const account = options.account ?? (await northwind(api));
  const name = options.name ?? unique('Agent');
  const email = `${unique('agent')}@e2e.example.com`;
  const agent = await api.send(
    'POST',
    '/agents',
    {
      account_id: account.id,
      email,
      display_name: name,
      role: options.role ?? 'agent',
      max_concurrent: options.maxConcurrent ?? 5,
      password: AGENT_PASSWORD,
    },
    201,
  );
  await api.send('PUT', `/agents/${agent.id}/skills`, types.map((t) => ({ support_type_id: t.id })), 200);
  if (options.online) await setPresence(api, agent.id, 'online');
  return { id: agent.id, email, name, password: AGENT_PASSWORD };
}

export async function setPresence(api: Api, agentId: string, presence: 'online' | 'away' | 'offline'): Promise<void> {
  await api.send('PUT', `/agents/${agentId}/presence`, { presence }, 200);
}

export interface Chat {
  sessionId: string;
  token: string;
  customer: string;
}

/// A customer opens a chat on the type, with a first message. (The request
/// context may hold a cookie from an earlier sign-in: the call names its
/// origin like the chat page would.)
export async function openChat(api: Api, type: SupportType, message?: string): Promise<Chat> {
  const customer = unique('Customer');
  const res = await notRateLimited(
    await api.request.post(`/api/v1/chat/${type.slug}/sessions`, {
      headers: { Origin: api.baseURL },
      data: { name: customer, email: `${customer.toLowerCase()}@customers.example.com`, message },
    }),
  );
  expect(res.status(), await res.text()).toBe(201);
  const body = await res.json();
  return { sessionId: body.session.id, token: body.token, customer };
}

/// The customer writes into their chat.
export async function customerSays(request: APIRequestContext, chat: Chat, body: string): Promise<void> {
  const res = await request.post(`/api/v1/sessions/${chat.sessionId}/messages`, {
    headers: { Authorization: `Bearer ${chat.token}` },
    data: { body },
  });
  expect(res.status(), await res.text()).toBe(201);
}

/// Waits until the session is active with `agentId` as its owner.
export async function waitForOwner(api: Api, sessionId: string, agentId: string): Promise<void> {
  await expect
    .poll(async () => {
      const s = await api.get(`/sessions/${sessionId}`);
      return `${s.status}:${s.owner_id}`;
    }, { timeout: 15_000 })
    .toBe(`active:${agentId}`);
}

/// Signs the agent in through the login page in this browser context, lands
/// on `next`, and waits until the page is interactive.
export async function signIn(context: BrowserContext, agent: { email: string; password: string }, next = '/agent'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('E-mail address').fill(agent.email);
  await page.getByLabel('Password').fill(agent.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const limited = page.getByRole('alert').filter({ hasText: 'Too many attempts' });
  await expect(page.getByTestId('signed-in-as').or(limited)).toBeVisible();
  expect(await limited.isVisible(), RATE_LIMITED).toBe(false);
  await expect(page.getByTestId('signed-in-as')).toBeVisible();
  if (next.startsWith('/agent')) await workspaceReady(page);
  return page;
}

/// The workspace has hydrated: its controls react from now on.
export async function workspaceReady(page: Page): Promise<void> {
  await expect(page.locator('main[data-hydrated="true"]')).toBeAttached({ timeout: 15_000 });
}

// ---- The customer's chat page and the agent's workspace, live, in two
// browser contexts (two people on two machines) ----

/** A new online agent serving the type, signed in to the workspace. */
export async function onlineAgent(browser: Browser, api: Api, type: SupportType, name: string): Promise<Page> {
  const agent = await createAgent(api, [type], { name, online: true });
  const context = await browser.newContext({ baseURL: api.baseURL });
  return signIn(context, agent);
}

/** A customer opens the chat page of `slug` and asks `first`. */
export async function customerOpensChat(browser: Browser, base: string, slug: string, first: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto(`/chat/${slug}`);
  await page.getByLabel('Your name').fill('Casey Customer');
  await page.getByLabel('Your question').fill(first);
  await page.getByRole('button', { name: 'Start chat' }).click();
  await expect(page.getByTestId('transcript')).toContainText(first);
  return page;
}

/** The one session in the agent's inbox, opened. */
export async function agentOpensInboxSession(agent: Page): Promise<string> {
  const item = agent.getByTestId('inbox').locator('li[data-session-id]').first();
  await expect(item).toBeVisible({ timeout: 15_000 });
  const id = (await item.getAttribute('data-session-id'))!;
  await item.getByRole('link').first().click();
  await expect(agent.getByTestId('transcript')).toBeVisible();
  await expect(item.getByRole('link').first()).toHaveAttribute('aria-current', 'page');
  return id;
}

/** The agent writes `text` and sends it with Enter. */
export async function agentSends(agent: Page, text: string): Promise<void> {
  const composer = agent.getByLabel('Message', { exact: true });
  await composer.fill(text);
  await composer.press('Enter');
  await expect(agent.getByTestId('transcript')).toContainText(text);
}

// ---- The admin console ----

/// The console page has hydrated: its controls react from now on.
export async function consoleReady(page: Page): Promise<void> {
  await expect(page.locator('main[data-hydrated="true"]')).toBeAttached({ timeout: 15_000 });
}

/// axe-core finds nothing serious or critical on the page as it is now, in
/// the light theme and in the dark one. The pages follow the system's
/// setting until the reader picks one, so emulating a dark system switches
/// them (the customer chat page stays light, and is checked twice as light).
export async function noSeriousViolations(page: Page, what: string): Promise<void> {
  const theme = await page.evaluate(() => document.documentElement.dataset.theme ?? null);
  const schemes: ('light' | 'dark')[] = theme === 'light' || theme === 'dark' ? [theme] : ['light', 'dark'];
  for (const colorScheme of schemes) {
    await page.emulateMedia({ colorScheme });
    const results = await new AxeBuilder({ page }).analyze();
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), `${what} (${colorScheme})`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

import { Browser, Page, expect, request as playwrightRequest } from '@playwright/test';

// A tenant's configuration for one test, made through the REST API as the
// demo's global admin, on the server at `base`. Names are unique per test
// (tests run in parallel against one server).

export interface Deployment {
  base: string;
  /** A support type in the demo account Northwind; returns its slug. */
  supportType(opts: { routing: string; csat: boolean; reasons: string[] }): Promise<string>;
  /** A new agent serving `slugs`, signed in to the workspace, online. */
  onlineAgent(name: string, slugs: string[]): Promise<Page>;
  api(method: string, path: string, data?: unknown): Promise<{ status: number; body: any }>;
}

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

export async function deployment(browser: Browser, base: string): Promise<Deployment> {
  const http = await playwrightRequest.newContext({ baseURL: base });
  const login = await http.post('/api/v1/auth/login', {
    headers: { Origin: base },
    data: { email: 'admin@example.com', password: 'demo-password' },
  });
  expect(login.status(), await login.text()).toBe(200);
  // The cookie is Secure (production mode) and the request client will not
  // send it over http by itself: pass it as a browser would.
  const cookie = /sb_session=([^;]+)/.exec(login.headers()['set-cookie'] ?? '')?.[1];
  expect(cookie).toBeTruthy();
  const headers = { Origin: base, Cookie: `sb_session=${cookie}` };

  const api = async (method: string, path: string, data?: unknown) => {
    const res = await http.fetch(`/api/v1${path}`, { method, headers, data });
    const text = await res.text();
    return { status: res.status(), body: text ? JSON.parse(text) : null };
  };
  const accounts = await api('GET', '/accounts');
  expect(accounts.status).toBe(200);
  const list = Array.isArray(accounts.body) ? accounts.body : accounts.body.items;
  const northwind = list.find((a: any) => a.slug === 'northwind');
  expect(northwind).toBeTruthy();
  const types = new Map<string, string>();

  return {
    base,
    api,
    async supportType({ routing, csat, reasons }) {
      const slug = `e2e-${unique()}`;
      const created = await api('POST', '/support-types', {
        account_id: northwind.id, slug, name: `Test desk ${slug.slice(-5)}`, routing,
        csat_enabled: csat, reason_required: true,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      for (const label of reasons) {
        const r = await api('POST', `/support-types/${created.body.id}/resolution-reasons`, { label });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
      types.set(slug, created.body.id);
      return slug;
    },
    async onlineAgent(name, slugs) {
      const email = `agent-${unique()}@e2e.test`;
      const created = await api('POST', '/agents', {
        account_id: northwind.id, email, display_name: name, role: 'agent', max_concurrent: 5,
        password: 'e2e-password-long',
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const skills = await api('PUT', `/agents/${created.body.id}/skills`,
        slugs.map((s) => ({ support_type_id: types.get(s) })));
      expect(skills.status, JSON.stringify(skills.body)).toBe(200);
      const context = await browser.newContext({ baseURL: base });
      const page = await context.newPage();
      await page.goto('/login?next=/agent');
      await page.getByLabel('E-mail address').fill(email);
      await page.getByLabel('Password').fill('e2e-password-long');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page).toHaveURL(/\/agent$/);
      await page.getByLabel('Presence').selectOption('online');
      await expect(page.getByLabel('Presence')).toHaveValue('online');
      return page;
    },
  };
}

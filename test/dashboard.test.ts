// The HQ dashboard in real headless Chromium against a real `printrelay start` (relay, agent
// and two virtual printers as a child process): sign-in, sessions and what is refused without
// one, roles and store scope (pages, JSON and the live feed), a paper-out shown live, an
// order's trace with its ticket picture, and screenshots in zh-CN and English.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRelayStore } from '../relay/store/open.js';
import { launchBrowser, screenshot } from './support/browser.js';
import { CliProcess, E2e } from './support/e2e.js';
import { REPO_ROOT } from './support/repo.js';

const e2e = new E2e();
const FREE_PORTS = [
  ...['--http-port', '--mqtt-port', '--receipt-port', '--kitchen-port'],
  ...['--receipt-control-port', '--kitchen-control-port', '--local-api-port'],
].flatMap((option) => [option, '0']);

let base: string;
let password: string;
let kitchenControl: string;
let apiKey: string;
let cwd: string;
let browser: Browser;
let startOutput: string;
/** The agent password of the store 'other', made from the dashboard. */
let otherPassword: string;

/** A signed-in cookie jar for raw HTTP requests, as a browser would send them. */
async function signIn(name: string, pw: string): Promise<string> {
  const res = await fetch(`${base}/hq/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base, 'x-printrelay-hq': '1' },
    body: JSON.stringify({ name, password: pw }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie') ?? '';
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  return cookie.split(';')[0] as string;
}

function hq(cookie: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    redirect: 'manual',
    headers: {
      cookie,
      origin: base,
      'x-printrelay-hq': '1',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Dashboard users made by `admin` through the API, each with the password `pw`. */
async function addUsers(
  admin: string,
  users: [name: string, role: 'viewer' | 'operator', stores: 'all' | string[]][],
  pw: string,
): Promise<void> {
  for (const [name, role, stores] of users) {
    const res = await hq(admin, 'POST', '/hq/api/users', { name, role, stores, password: pw });
    expect(res.status).toBe(201);
  }
}

async function openDashboard(lang: 'zh-CN' | 'en'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: lang, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/hq/`);
  await page.waitForURL(/\/hq\/login/);
  await page.fill('input[name=name]', 'demo');
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=stores] tr[data-store=demo]');
  return { context, page };
}

async function kitchen(body: unknown, path = 'fault'): Promise<void> {
  const res = await fetch(`${kitchenControl}/${path}`, { method: 'POST', body: JSON.stringify(body) });
  expect(res.ok).toBe(true);
}

beforeAll(async () => {
  cwd = e2e.tempDir();
  const proc = new CliProcess('start', ['start', '--no-ws', ...FREE_PORTS], { cwd });
  e2e.onClose(() => proc.kill('SIGKILL').then(() => undefined));
  await proc.waitForOutput('Press Ctrl+C to stop.', 30_000);
  const m = /HQ dashboard\s+(http:\/\/\S+)\/hq\/\s+sign in as demo \/ (\S+)/.exec(proc.output);
  if (!m) throw new Error(`no dashboard line in:\n${proc.output}`);
  startOutput = proc.output;
  base = m[1] as string;
  password = m[2] as string;
  kitchenControl = /Paper out in the kitchen: curl -X POST (\S+)\/fault/.exec(proc.output)?.[1] as string;
  apiKey = JSON.parse(readFileSync(join(cwd, '.data', 'demo.json'), 'utf8')).apiKey.key;
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await e2e.close();
});

describe('HQ dashboard', { timeout: 60_000 }, () => {
  it('refuses every page, data endpoint and the live feed without a session', async () => {
    for (const path of ['/hq/', '/hq/stores/demo', '/hq/trace', '/hq/admin']) {
      const res = await fetch(`${base}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(302);
      expect(res.headers.get('location')).toMatch(/^\/hq\/login\?next=/);
    }
    for (const path of [
      '/hq/api/me',
      '/hq/api/stores',
      '/hq/api/overview',
      '/hq/api/live',
      '/hq/api/stores/demo',
      '/hq/api/audit',
    ]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(401);
    }
    // A forged or ended session is no session.
    const cookie = await signIn('demo', password);
    expect((await hq('printrelay_hq=forged', 'GET', '/hq/api/me')).status).toBe(401);
    expect((await hq(cookie, 'POST', '/hq/api/logout', {})).status).toBe(200);
    expect((await hq(cookie, 'GET', '/hq/api/me')).status).toBe(401);
    // A session unused for 12 hours has expired (its last use moved back in the database).
    const idle = await signIn('demo', password);
    expect((await hq(idle, 'GET', '/hq/api/me')).status).toBe(200);
    const db = new Database(join(cwd, '.data', 'relay', 'relay.db'));
    const tokenHash = createHash('sha256')
      .update(idle.slice(idle.indexOf('=') + 1))
      .digest('hex');
    const moved = db
      .prepare('UPDATE dashboard_sessions SET last_seen_at = ? WHERE token_hash = ?')
      .run(Date.now() - 12 * 3600_000 - 1000, tokenHash);
    db.close();
    expect(moved.changes).toBe(1);
    expect((await hq(idle, 'GET', '/hq/api/me')).status).toBe(401);
    // Pages carry a CSP without inline scripts.
    const page = await fetch(`${base}/hq/login`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('refuses cross-site requests and slows down wrong passwords', async () => {
    const cookie = await signIn('demo', password);
    const evil = await fetch(`${base}/hq/api/stores/demo/test-print`, {
      method: 'POST',
      headers: {
        cookie,
        origin: 'https://evil.example',
        'x-printrelay-hq': '1',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ printer: 'kitchen' }),
    });
    expect(evil.status).toBe(403);
    const noHeader = await fetch(`${base}/hq/api/stores/demo/test-print`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ printer: 'kitchen' }),
    });
    expect(noHeader.status).toBe(403);

    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await fetch(`${base}/hq/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-printrelay-hq': '1' },
        body: JSON.stringify({ name: 'guesser-target', password: `wrong-${i}` }),
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses).toContain(429);
  });

  it('lets a viewer read but not act, and shows a user scoped to one store no other', async () => {
    const admin = await signIn('demo', password);
    const made = await hq(admin, 'POST', '/hq/api/stores', { id: 'other', name: '别的门店 Other' });
    expect(made.status).toBe(201);
    const created = (await made.json()) as { enrolment: { code: string }; credentials: { password: string } };
    expect(created.enrolment.code).toMatch(/^\w{4}-\w{4}-\w{4}$/);
    otherPassword = created.credentials.password;
    await addUsers(
      admin,
      [
        ['viewer1', 'viewer', 'all'],
        ['scoped1', 'operator', ['other']],
      ],
      'a-long-password-1',
    );
    const viewer = await signIn('viewer1', 'a-long-password-1');
    expect((await hq(viewer, 'GET', '/hq/api/stores/demo')).status).toBe(200);
    expect((await hq(viewer, 'POST', '/hq/api/stores/demo/test-print', { printer: 'kitchen' })).status).toBe(
      403,
    );
    expect((await hq(viewer, 'GET', '/hq/api/audit')).status).toBe(403);

    const scoped = await signIn('scoped1', 'a-long-password-1');
    const page = (await (await hq(scoped, 'GET', '/hq/api/stores')).json()) as {
      stores: { id: string }[];
      total: number;
    };
    expect(page.stores.map((s) => s.id)).toEqual(['other']);
    expect((await hq(scoped, 'GET', '/hq/api/stores/demo')).status).toBe(404);
    expect((await hq(scoped, 'POST', '/hq/api/stores/demo/test-print', { printer: 'kitchen' })).status).toBe(
      404,
    );

    // The live feed: the admin's stream sees the demo store's test print, the scoped user's does not.
    const read = async (cookie: string, ms: number) => {
      const res = await hq(cookie, 'GET', '/hq/api/live');
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      const until = Date.now() + ms;
      const timer = setTimeout(() => void reader.cancel(), ms);
      while (Date.now() < until) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
      }
      clearTimeout(timer);
      return text;
    };
    const adminFeed = read(admin, 2500);
    const scopedFeed = read(scoped, 2500);
    await new Promise((r) => setTimeout(r, 300));
    expect((await hq(admin, 'POST', '/hq/api/stores/demo/test-print', { printer: 'kitchen' })).status).toBe(
      201,
    );
    expect(await adminFeed).toContain('"storeId":"demo"');
    expect(await scopedFeed).not.toContain('"storeId":"demo"');

    // The admin reads who did what.
    const audit = (await (await hq(admin, 'GET', '/hq/api/audit')).json()) as {
      entries: { user: string; action: string }[];
    };
    expect(audit.entries).toContainEqual(
      expect.objectContaining({ user: 'demo', action: 'printer.test-print' }),
    );
    expect(audit.entries).toContainEqual(expect.objectContaining({ user: 'demo', action: 'store.add' }));
  });

  it('shows a store coming online and going offline on the open page within 1 s of the relay knowing it', async () => {
    const admin = await signIn('demo', password);
    const dir = e2e.tempDir();
    const mqtt = /MQTT\s+(mqtt:\/\/\S+)/.exec(startOutput)?.[1] as string;
    const init = new CliProcess('agent init', [
      ...['agent', 'init', '--store', 'other', '--relay', mqtt, '--password', otherPassword],
      ...['--printer', 'counter=tcp://127.0.0.1:1,xprinter-80,receipt', '--local-api-port', 'off'],
      ...['-o', join(dir, 'agent.json')],
    ]);
    expect(await init.exited).toBe(0);
    const relayKnows = async (online: boolean) => {
      for (;;) {
        const detail = (await (await hq(admin, 'GET', '/hq/api/stores/other')).json()) as {
          store: { online: boolean };
        };
        if (detail.store.online === online) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const { context, page } = await openDashboard('en');
    const offline = page.locator('tr[data-store=other] [data-testid=store-offline]');
    await offline.waitFor();

    const agent = new CliProcess('agent', ['agent', '--config', join(dir, 'agent.json')]);
    e2e.onClose(() => agent.kill('SIGKILL').then(() => undefined));
    await relayKnows(true);
    await offline.waitFor({ state: 'detached', timeout: 1000 });
    await agent.kill('SIGTERM');
    await relayKnows(false);
    await offline.waitFor({ timeout: 1000 });
    await context.close();
  });

  it('shows the demo store live: paper out appears within 1 s of the relay knowing it, and clears', async () => {
    const { context, page } = await openDashboard('zh-CN');
    const admin = await signIn('demo', password);
    const kitchenBadge = page.locator('tr[data-store=demo] [data-condition]').nth(1);
    await expect.poll(() => kitchenBadge.getAttribute('data-condition'), { timeout: 10_000 }).toBe('ready');
    await screenshot(page, 'dashboard-overview-zh-CN');

    const relayKnows = async (condition: string) => {
      for (;;) {
        const detail = (await (await hq(admin, 'GET', '/hq/api/stores/demo')).json()) as {
          printers: { printerId: string; condition: string }[];
        };
        if (detail.printers.find((p) => p.printerId === 'kitchen')?.condition === condition) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await kitchen({ fault: 'paper-out', on: true });
    await relayKnows('paper-out');
    await page
      .locator('tr[data-store=demo] [data-condition=paper-out]', { hasText: '缺纸' })
      .waitFor({ timeout: 1000 });
    await screenshot(page, 'dashboard-overview-paper-out-zh-CN');
    await kitchen({}, 'refill');
    await relayKnows('ready');
    await page
      .locator('tr[data-store=demo] [data-condition=paper-out]')
      .waitFor({ state: 'detached', timeout: 1000 });

    // The store page in both languages, with its status history.
    await page.click('tr[data-store=demo] a');
    await page.waitForSelector('[data-printer=kitchen] .history li');
    expect(await page.locator('[data-printer=kitchen] .history').textContent()).toContain('缺纸');
    await screenshot(page, 'dashboard-store-zh-CN');
    await page.click('[data-testid=lang]');
    await page.waitForSelector('text=Status changes');
    await screenshot(page, 'dashboard-store-en');
    await page.click('header a[href="/hq/"]');
    await page.waitForSelector('[data-testid=stores] tr[data-store=demo]');
    await screenshot(page, 'dashboard-overview-en');
    await context.close();
  });

  it('finds an order by its number and shows its printed timeline and ticket picture', async () => {
    const order = JSON.parse(readFileSync(join(cwd, '.data', 'orders', 'receipt.json'), 'utf8'));
    const res = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': 'trace-test',
      },
      body: JSON.stringify(order),
    });
    expect(res.status).toBeLessThan(300);
    const orderNo = order.orderRef.orderNo as string;

    for (const lang of ['zh-CN', 'en'] as const) {
      const { context, page } = await openDashboard(lang);
      await page.goto(`${base}/hq/trace`);
      await page.fill('[data-testid=order-no]', orderNo);
      await page.click('button[type=submit]');
      const printed = lang === 'zh-CN' ? '已打印' : 'Printed';
      await page.locator('.ticket .timeline', { hasText: printed }).first().waitFor({ timeout: 15_000 });
      const img = page.locator('[data-testid=ticket-picture]').first();
      await expect
        .poll(() => img.evaluate((i) => (i as HTMLImageElement).naturalWidth), { timeout: 5000 })
        .toBeGreaterThan(300);
      await screenshot(page, `dashboard-trace-${lang}`);
      await context.close();
    }
    const admin = await signIn('demo', password);
    const jobs = (await (await hq(admin, 'GET', `/hq/api/jobs?orderNo=${orderNo}`)).json()) as {
      jobs: { jobId: string }[];
    };
    const svg = await (await hq(admin, 'GET', `/hq/api/jobs/${jobs.jobs[0]?.jobId}/picture.svg`)).text();
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('<path d="M'); // the QR code's modules
  });

  it('decides a held ticket from HQ (through the agent), reprints it, and writes both to the audit log', async () => {
    const admin = await signIn('demo', password);
    const jobOf = async () => {
      const res = await hq(admin, 'GET', '/hq/api/jobs?orderNo=HELD-1');
      return ((await res.json()) as { jobs: { jobId: string; state: string }[] }).jobs[0];
    };
    await kitchen({ fault: 'paper-out', on: true });
    // The first ticket waits at the printer for paper; the second waits in the queue behind
    // it until its expiry passes, and is then held for a person to decide.
    const send = (body: unknown, key: string) =>
      fetch(`${base}/v1/jobs`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify(body),
      });
    const ticket = { blocks: [{ type: 'text', text: '后厨单 暂留测试' }, { type: 'cut' }] };
    expect((await send({ storeId: 'demo', printer: 'kitchen', ticket }, 'blocker-1')).status).toBe(201);
    const res = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': 'held-1',
      },
      body: JSON.stringify({
        storeId: 'demo',
        printer: 'kitchen',
        ticket,
        ttlSeconds: 1,
        onExpiry: 'hold',
        orderRef: { source: 'test', orderNo: 'HELD-1' },
      }),
    });
    expect(res.status).toBe(201);
    await expect.poll(async () => (await jobOf())?.state, { timeout: 15_000 }).toBe('held');
    const job = (await jobOf()) as { jobId: string };

    const viewer = await signIn('viewer1', 'a-long-password-1');
    expect((await hq(viewer, 'POST', `/hq/api/jobs/${job.jobId}/decide`, { decision: 'print' })).status).toBe(
      403,
    );

    // An operator decides on the store page; printing waits for paper, then goes ahead.
    const { context, page } = await openDashboard('zh-CN');
    await page.goto(`${base}/hq/stores/demo`);
    const printButton = page.locator('[data-printer=kitchen] .queue button', { hasText: '打印' });
    await printButton.waitFor();
    await screenshot(page, 'dashboard-store-held-zh-CN');
    await printButton.click();
    await page.locator('[data-printer=kitchen] .queue .msg', { hasText: '已完成' }).waitFor();
    await kitchen({}, 'refill');
    await expect.poll(async () => (await jobOf())?.state, { timeout: 15_000 }).toBe('printed');
    await context.close();

    const reprint = await hq(admin, 'POST', `/hq/api/jobs/${job.jobId}/reprint`, {});
    expect(reprint.status).toBe(201);
    expect(await reprint.json()).toMatchObject({ reprintOf: job.jobId, reprintCount: 1 });
    expect((await hq(admin, 'POST', `/hq/api/jobs/${job.jobId}/cancel`, {})).status).toBe(409);
    const audit = (await (await hq(admin, 'GET', '/hq/api/audit')).json()) as {
      entries: { user: string; action: string; target: string }[];
    };
    expect(audit.entries).toContainEqual(
      expect.objectContaining({ action: 'job.held-print', target: job.jobId }),
    );
    expect(audit.entries).toContainEqual(
      expect.objectContaining({ action: 'job.reprint', target: job.jobId }),
    );

    const en = await openDashboard('en');
    await en.page.goto(`${base}/hq/admin`);
    await en.page.locator('[data-testid=audit] td', { hasText: 'Held ticket: print' }).first().waitFor();
    await screenshot(en.page, 'dashboard-admin-en');
    await en.context.close();
  });

  it('catches a reconnecting live feed up from Last-Event-ID, and tells one it cannot to reload', async () => {
    const admin = await signIn('demo', password);
    const readUntil = async (headers: Record<string, string>, want: RegExp) => {
      const res = await fetch(`${base}/hq/api/live`, { headers: { cookie: admin, ...headers } });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      const timer = setTimeout(() => void reader.cancel(), 5000);
      while (!want.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
      }
      clearTimeout(timer);
      await reader.cancel();
      return text;
    };
    // A first connection is told to load everything, with the id to resume from.
    const first = await readUntil({}, /event: reset/);
    const lastId = /id: (\S+)\nevent: reset/.exec(first)?.[1] as string;
    expect(lastId).toMatch(/^[0-9a-f]+-\d+$/);
    // While it is away, a test print changes a job; coming back with Last-Event-ID replays it.
    expect((await hq(admin, 'POST', '/hq/api/stores/demo/test-print', { printer: 'receipt' })).status).toBe(
      201,
    );
    const resumed = await readUntil({ 'last-event-id': lastId }, /"type":"job"/);
    expect(resumed).toMatch(/event: change\ndata: \{"type":"job","storeId":"demo"/);
    expect(resumed).not.toContain('event: reset');
    // An id from another run of the relay cannot be caught up: reload.
    expect(await readUntil({ 'last-event-id': 'deadbeef-1' }, /event: reset/)).toContain('event: reset');
  });

  it('edits ticket templates with a live 58/80 mm preview, checked on the server by role and scope, and shows an order whose template failed', async () => {
    const admin = await signIn('demo', password);
    await addUsers(
      admin,
      [
        ['tpl-viewer', 'viewer', 'all'],
        ['tpl-operator', 'operator', ['demo']],
      ],
      'a-long-password-2',
    );
    const builtIn = (
      (await (await hq(admin, 'GET', '/hq/api/templates/kitchen?storeId=demo')).json()) as {
        inUse: { from: string; template: { kind: string; blocks: unknown[] } };
      }
    ).inUse;
    expect(builtIn.from).toBe('built-in');
    const withBlocks = (...blocks: unknown[]) => ({
      ...builtIn.template,
      blocks: [...blocks, ...builtIn.template.blocks],
    });

    // Who may change what, asked of the server directly: anyone may preview; HQ's templates are
    // an admin's; a store's own are its operators'; a store out of scope does not exist.
    const viewer = await signIn('tpl-viewer', 'a-long-password-2');
    const operator = await signIn('tpl-operator', 'a-long-password-2');
    const label = (await (await hq(admin, 'GET', '/hq/api/templates/label')).json()) as {
      inUse: { template: unknown };
    };
    const preview = await hq(viewer, 'POST', '/hq/api/templates/label/preview', {
      template: label.inUse.template,
      paper: '58',
    });
    expect(preview.status).toBe(200);
    expect(((await preview.json()) as { svg: string }).svg).toMatch(/^<svg/);
    const save = { template: label.inUse.template, comment: 'same as built-in' };
    expect((await hq(viewer, 'PUT', '/hq/api/templates/label', save)).status).toBe(403);
    expect((await hq(viewer, 'PUT', '/hq/api/templates/label?storeId=demo', save)).status).toBe(403);
    expect((await hq(operator, 'PUT', '/hq/api/templates/label', save)).status).toBe(403);
    expect((await hq(operator, 'PUT', '/hq/api/templates/label?storeId=other', save)).status).toBe(404);
    expect((await hq(operator, 'PUT', '/hq/api/templates/label?storeId=demo', save)).status).toBe(200);
    const refused = await hq(admin, 'PUT', '/hq/api/templates/label', {
      template: { ...(label.inUse.template as object), blocks: [{ type: 'text', text: '{{#order.note}}' }] },
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { issues: { path: string }[] }).issues[0]?.path).toBe('/blocks/0/text');

    const { context, page } = await openDashboard('zh-CN');
    await page.goto(`${base}/hq/templates?kind=kitchen&store=demo`);
    await page.locator('[data-testid=template-in-use]', { hasText: '内置默认模板' }).waitFor();
    const picture = page.locator('[data-testid=template-preview]');
    const drawn = async (paper: string) => {
      await page.locator(`[data-testid=template-preview][data-paper="${paper}"]`).waitFor();
      return expect
        .poll(() => picture.evaluate((i) => (i as HTMLImageElement).naturalWidth), { timeout: 5000 })
        .toBeGreaterThan(0)
        .then(() => picture.evaluate((i) => (i as HTMLImageElement).naturalWidth));
    };
    const wide = await drawn('80');
    await page.click('[data-testid=paper-58]');
    const narrow = await drawn('58');
    expect(narrow).toBeLessThan(wide);

    // Typing: bad JSON, then a template that cannot lay out, each said where, and no saving.
    const json = page.locator('[data-testid=template-json]');
    const saveButton = page.locator('[data-testid=template-save]');
    await json.fill('{ "kind": ');
    await page.locator('[data-testid=template-json-error]').waitFor();
    expect(await saveButton.isDisabled()).toBe(true);
    await json.fill(JSON.stringify(withBlocks({ type: 'text', text: '{{#order.note}}没有结尾' }), null, 2));
    await page.locator('[data-testid=template-problems]', { hasText: '/blocks/0/text' }).waitFor();
    expect(await saveButton.isDisabled()).toBe(true);

    // The store's own: a marker, and a QR of the pickup number, which an order without one cannot make.
    const own = withBlocks(
      { type: 'text', text: '本店模板 OWN {{order.callNo}}', bold: true },
      { type: 'qr', data: '{{order.pickupNo}}' },
    );
    await json.fill(JSON.stringify(own, null, 2));
    await page.locator('[data-testid=template-problems]').waitFor({ state: 'detached' });
    await expect.poll(() => saveButton.isDisabled(), { timeout: 5000 }).toBe(false);
    await page.fill('.save input', '加门店标记');
    await saveButton.click();
    await page.locator('[data-testid=template-message]', { hasText: '第 1 版' }).waitFor();
    await page.locator('[data-testid=template-in-use]', { hasText: '本店模板 第 1 版' }).waitFor();
    await drawn('58');
    await screenshot(page, 'dashboard-templates-zh-CN');

    // A second version, then back to the first from the versions list: saved again as the third.
    await json.fill(JSON.stringify(withBlocks({ type: 'text', text: 'V2' }), null, 2));
    await expect.poll(() => saveButton.isDisabled(), { timeout: 5000 }).toBe(false);
    await saveButton.click();
    await page.locator('[data-testid=template-message]', { hasText: '第 2 版' }).waitFor();
    await page.click('[data-testid=template-versions] tr[data-version="1"] button');
    await page.locator('[data-testid=template-message]', { hasText: '第 1 版另存为第 3 版' }).waitFor();
    const audit = (await (await hq(admin, 'GET', '/hq/api/audit')).json()) as {
      entries: { user: string; action: string; detail: string }[];
    };
    expect(audit.entries).toContainEqual(
      expect.objectContaining({
        user: 'demo',
        action: 'template.rollback',
        detail: 'kitchen version 1 saved again as 3',
      }),
    );
    await context.close();

    // An order without a pickup number: the store's template cannot make its QR, the built-in
    // one prints the kitchen ticket, and the dashboard says so beside the order's tickets.
    const order = JSON.parse(readFileSync(join(REPO_ROOT, 'examples/orders/meituan-order.json'), 'utf8'));
    const orderNo = 'TPL-FAIL-1';
    const placed = await fetch(`${base}/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': orderNo,
      },
      body: JSON.stringify({ ...order, orderNo, pickupNo: undefined }),
    });
    expect(placed.status).toBe(201);
    for (const lang of ['zh-CN', 'en'] as const) {
      const view = await openDashboard(lang);
      await view.page.goto(`${base}/hq/trace?orderNo=${orderNo}`);
      const card = view.page.locator('[data-testid=order]');
      await view.page.locator('[data-testid=order][data-order-state=printed]').waitFor({ timeout: 15_000 });
      const warning = card.locator('[data-testid=template-warning]');
      expect(await warning.count()).toBe(1);
      expect(await warning.textContent()).toContain(
        lang === 'zh-CN' ? '模板出错（这张小票已改用内置模板打印）' : 'Template error: ',
      );
      expect(await warning.textContent()).toContain("the store's kitchen template (version 3) failed");
      await screenshot(view.page, `dashboard-order-template-failed-${lang}`);
      await view.context.close();
    }
  });

  it('`printrelay relay users` adds (scrypt, password shown once), lists and removes dashboard users', async () => {
    const dataDir = e2e.tempDir();
    // A relay's database (admin commands refuse a data dir without one).
    await openRelayStore(dataDir).close();
    const run = async (...args: string[]) => {
      const proc = new CliProcess('relay users', ['relay', ...args, '--data-dir', dataDir]);
      return { code: await proc.exited, output: proc.output };
    };
    expect((await run('stores', 'add', 's1', '--name', '一号店')).code).toBe(0);
    const added = await run('users', 'add', 'ops', '--role', 'operator', '--stores', 's1');
    expect(added.code).toBe(0);
    expect(added.output).toMatch(/User ops \(operator, s1\) created\.\s+password\s+\S{16}/);
    const bad = await run('users', 'add', 'x', '--role', 'boss');
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('unknown role "boss": use admin, operator, viewer');
    const unknownStore = await run('users', 'add', 'y', '--role', 'viewer', '--stores', 'nope');
    expect(unknownStore.output).toContain('unknown store "nope"');
    expect((await run('users', 'list')).output).toMatch(/ops\s+operator\s+s1/);
    expect((await run('users', 'remove', 'ops')).code).toBe(0);
    expect((await run('users', 'list')).output).toContain('No dashboard users.');
  });
});

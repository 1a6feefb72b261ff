// The cashier's store page in real headless Chromium, served by a real `printrelay agent`
// child process, printing on a virtual printer, connected to a real relay child process.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalJobView } from '../agent/views.js';
import { CONDITION_TEXT } from '../shared/printer-state.js';
import type { VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import { launchBrowser, screenshot } from './support/browser.js';
import {
  type AgentProcess,
  type ApiClient,
  E2e,
  markedJob,
  markedTicket,
  type RelayProcess,
  ticketsWith,
  waitFor,
} from './support/e2e.js';

const e2e = new E2e();
let relay: RelayProcess;
let api: ApiClient;
let printer: VirtualPrinter;
let agent: AgentProcess;
let browser: Browser;
let page: Page;

/** The REPRINT banner protocol/reprint.ts prints above a reprinted ticket's first line. */
function reprintsOf(marker: string): number {
  const items = printer.printed;
  return items.filter(
    (item, i) =>
      item.kind === 'text' &&
      item.text.trim() === marker &&
      i > 0 &&
      items[i - 1]?.kind === 'text' &&
      /REPRINT #\d+/.test((items[i - 1] as { text: string }).text),
  ).length;
}

/** The page reads the agent every 2 s: give it several turns, on a loaded machine too. */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });

async function localJob(jobId: string): Promise<LocalJobView | null> {
  const res = await fetch(`${agent.localApiUrl}/v1/jobs/${jobId}`);
  return res.status === 200 ? ((await res.json()) as LocalJobView) : null;
}

beforeAll(async () => {
  ({ relay, api } = await e2e.relay());
  // Slow enough for the agent to be killed in the middle of a long ticket.
  ({ printer, agent } = await e2e.store(relay, api, 's1', { linesPerSecond: 25 }));
  browser = await launchBrowser();
  e2e.onClose(() => browser.close());
  page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  await page.goto(`${agent.localApiUrl}/?lang=zh-CN`);
}, 60_000);

afterAll(() => e2e.close());

describe('store page', () => {
  it('shows the printer ready and the cloud connected, in Chinese first', async () => {
    const card = page.getByTestId('printer-counter');
    await poll(() => card.textContent()).toContain(CONDITION_TEXT['zh-CN'].ready.label);
    await poll(() => page.getByTestId('cloud').textContent()).toContain('云端已连接');
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
  });

  it('shows paper out with what to do, and clears when paper is loaded', async () => {
    const card = page.getByTestId('printer-counter');
    printer.setFault('paper-out', true);
    const { label, action } = CONDITION_TEXT['zh-CN']['paper-out'];
    expect(action).toBe('缺纸：请装纸，装好后自动继续打印');
    await poll(() => card.textContent()).toContain(action);
    expect(await card.textContent()).toContain(label);
    expect(await card.getAttribute('class')).toContain('error');
    await screenshot(page, 'store-page-paper-out-zh-CN');
    printer.refill();
    await poll(() => card.textContent()).toContain(CONDITION_TEXT['zh-CN'].ready.label);
    expect(await card.textContent()).not.toContain(action);
  });

  it('prints a test page', async () => {
    await page.getByTestId('printer-counter').getByRole('button', { name: '打印测试页' }).click();
    await waitFor(() => printer.printedText().includes('TEST PRINT'), 'the test page on paper', 10_000);
    await poll(() => page.getByRole('status').textContent()).toContain('测试页已发送');
  });

  it('reprints the last ticket, marked REPRINT', async () => {
    const jobId = await api.submit(markedJob('s1', 'LAST-1'), 'last-1');
    await api.waitForState(jobId, 'printed');
    await poll(() => page.getByTestId('reprint-last').isEnabled()).toBe(true);
    await poll(() => page.locator('.actions small').textContent()).toContain('LAST-1');
    await page.getByTestId('reprint-last').click();
    await waitFor(() => reprintsOf('LAST-1') === 1, 'a REPRINT-marked LAST-1 on paper', 10_000);
    expect(ticketsWith(printer, 'LAST-1')).toBe(2);
  });

  it('pauses and resumes printing', async () => {
    await page.getByTestId('pause').click();
    await poll(() => page.getByTestId('paused').textContent()).toContain('打印已暂停');
    const jobId = await api.submit(markedJob('s1', 'PAUSED-1'), 'paused-1');
    await waitFor(async () => (await localJob(jobId))?.state === 'queued', 'the job to wait at the agent');
    await poll(() => page.getByTestId('printer-counter').textContent()).toContain('1 张待打印');
    expect(ticketsWith(printer, 'PAUSED-1')).toBe(0);
    await page.getByTestId('paused').getByRole('button', { name: '继续打印' }).click();
    await api.waitForState(jobId, 'printed');
    expect(ticketsWith(printer, 'PAUSED-1')).toBe(1);
    await poll(() => page.getByTestId('paused').count()).toBe(0);
  });

  it('asks about held, failed and uncertain tickets, and prints or discards them', async () => {
    // Failed: a ticket this printer cannot lay out (16 columns 8 dots apart do not fit on 80 mm).
    // Held: its expiry passes while the paper is out.
    const tooWide = {
      blocks: [
        { type: 'text' as const, text: 'FAILED-1' },
        { type: 'table' as const, columns: Array.from({ length: 16 }, () => ({})), gap: 8, rows: [] },
      ],
    };
    const failed = await api.submit({ ...markedJob('s1', 'FAILED-1'), ticket: tooWide }, 'failed-1');
    await api.waitForState(failed, 'failed');
    printer.setFault('paper-out', true);
    await waitFor(async () => !(await agent.status()).printers[0]?.ready, 'the agent to see paper out');
    const held = await api.submit(
      { ...markedJob('s1', 'HELD-1'), ttlSeconds: 1, onExpiry: 'hold' },
      'held-1',
    );
    await waitFor(async () => (await localJob(held))?.state === 'held', 'the job to be held', 10_000);
    printer.refill();
    // Uncertain: the agent is killed while the printer is still printing a long ticket.
    const cut = await api.submit(
      { ...markedJob('s1', 'CUT-1'), ticket: markedTicket('CUT-1', 120) },
      'cut-1',
    );
    await waitFor(
      async () => (await localJob(cut))?.state === 'printing',
      'the long ticket to print',
      10_000,
    );
    await agent.kill9();
    await agent.start();
    await waitFor(
      async () => (await localJob(cut))?.state === 'uncertain',
      'the cut-off job to be uncertain',
    );

    const attention = page.getByTestId('attention');
    await page.reload();
    await poll(() => attention.locator('.job').count()).toBe(3);
    const row = (id: string) => page.getByTestId(`job-${id}`);
    expect(await row(held).textContent()).toContain('已超时');
    expect(await row(failed).textContent()).toContain('没有打印出来');
    expect(await row(cut).textContent()).toContain('不确定是否已打印');
    await screenshot(page, 'store-page-attention-zh-CN');

    await row(held).getByRole('button', { name: '打印' }).click();
    await api.waitForState(held, 'printed');
    expect(ticketsWith(printer, 'HELD-1')).toBe(1);
    await row(cut).getByRole('button', { name: '重新打印' }).click();
    await waitFor(() => reprintsOf('CUT-1') === 1, 'a REPRINT-marked CUT-1 on paper', 15_000);
    await row(failed).getByRole('button', { name: '不打了' }).click();
    await poll(() => attention.locator('.job').count()).toBe(0);
    expect(await attention.textContent()).toContain('没有需要处理的小票');
    expect(ticketsWith(printer, 'FAILED-1')).toBe(0);
  });

  it('shows the cloud offline, in English too, and fits a phone', async () => {
    await relay.kill9();
    await poll(() => page.getByTestId('cloud').textContent()).toContain('云端未连接');
    await screenshot(page, 'store-page-zh-CN');
    await page.getByRole('button', { name: 'English' }).click();
    await poll(() => page.getByTestId('cloud').textContent()).toContain('Cloud offline');
    expect(await page.getByTestId('printer-counter').textContent()).toContain(CONDITION_TEXT.en.ready.label);
    await poll(() => page.locator('html').getAttribute('lang')).toBe('en');
    await screenshot(page, 'store-page-en');
    await page.setViewportSize({ width: 390, height: 844 });
    // Nothing wider than the screen: no sideways scrolling on a phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'store-page-phone-en');
    await page.setViewportSize({ width: 800, height: 600 });
  });

  it('is refused (403) when another site posts to the agent', async () => {
    // A page of another site that makes the store print with a form, as an attacker's would.
    const evil: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(
        `<form method="post" action="${agent.localApiUrl}/v1/printers/counter/test-print"></form>` +
          '<script>document.forms[0].submit()</script>',
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    e2e.onClose(() => new Promise<void>((resolve) => evil.close(() => resolve())));
    const before = printer.printedText().split('TEST PRINT').length;
    const other = await browser.newPage();
    // localhost and 127.0.0.1 are different sites to the browser, on a different port too.
    const posted = other.waitForResponse((r) => r.url().endsWith('/test-print'));
    await other.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`);
    const response = await posted;
    expect(response.status()).toBe(403);
    expect(await response.text()).toContain('other sites');
    await other.close();
    const jobs = (await (await fetch(`${agent.localApiUrl}/v1/jobs`)).json()) as { jobs: LocalJobView[] };
    // The one test page the cashier printed earlier, and no other.
    expect(jobs.jobs.filter((j) => j.source === 'local' && j.reprintOf === null)).toHaveLength(1);
    expect(printer.printedText().split('TEST PRINT').length).toBe(before);
  });
});

// The agent's local API through a real agent (real relay, real virtual printer, SQLite in a
// temp dir), and `printrelay agent` as a child process.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../agent/agent.js';
import { type AgentConfig, loadAgentConfig } from '../agent/config.js';
import { startLocalApi } from '../agent/local-api.js';
import type { AgentView, LocalJobView } from '../agent/views.js';
import type { AgentCredentials } from '../relay/admin.js';
import { silentLog } from '../shared/log.js';
import { startVirtualPrinter, type VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import { jobBody, startTestRelay, type TestRelay, waitFor } from './relay-helpers.js';
import { CliProcess } from './support/e2e.js';
import { parseExposition, value } from './support/prometheus.js';

let t: TestRelay;
let creds: AgentCredentials;
let printer: VirtualPrinter;
let dir: string;
let agent: Agent;
/** The agent's own local API. */
let apiUrl: string;

function agentConfig(localApiPort: number): AgentConfig {
  return {
    storeId: creds.storeId,
    relay: { url: t.relay.urls.mqtt, password: creds.password },
    dataDir: join(dir, 'agent-data'),
    printers: [
      { id: 'counter', name: 'Counter', uri: printer.uri, profile: 'epson-tm-t88', roles: ['receipt'] },
    ],
    localApi: { port: localApiPort },
    printerOptions: { pollIntervalMs: 100 },
  };
}

beforeEach(async () => {
  t = await startTestRelay({ resendAfterMs: 1000, wsPort: null });
  creds = await t.store('s1');
  printer = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0', linesPerSecond: 2000 });
  dir = mkdtempSync(join(tmpdir(), 'printrelay-local-api-'));
  agent = await startAgent({
    config: agentConfig(0),
    log: silentLog,
    healthIntervalMs: 60_000,
    outboxResendMs: 1000,
    reconnect: { minMs: 50, maxMs: 500 },
  });
  expect(agent.localApiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  apiUrl = agent.localApiUrl as string;
});

afterEach(async () => {
  await agent.close();
  await printer.close();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${apiUrl}${path}`, { method });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: res.status, body: await res.json() };
}

function waitForState(id: string, state: LocalJobView['state']): Promise<LocalJobView> {
  let last: unknown;
  return waitFor(
    async () => {
      // A relay job is a 404 here until it has reached the agent.
      const res = await call('GET', `/v1/jobs/${id}`);
      last = res.body;
      return res.status === 200 && (res.body as LocalJobView).state === state
        ? (res.body as LocalJobView)
        : null;
    },
    `job ${id} to be ${state}`,
    10_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; it is ${JSON.stringify(last)}`);
  });
}

async function relayJob(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await t.api('/v1/jobs', {
    method: 'POST',
    json: jobBody(creds.storeId, { printer: 'receipt', ...extra }),
    headers: { 'idempotency-key': randomUUID() },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { jobId: string }).jobId;
}

/** A raw HTTP request, so the test controls the Host header (fetch does not let it). */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const { port } = new URL(apiUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

function connectionRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('agent local API', () => {
  it('shows the agent status', async () => {
    await waitFor(
      async () => ((await call('GET', '/v1/status')).body as AgentView).relay.connected,
      'relay link',
    );
    const { status, body } = await call('GET', '/v1/status');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      storeId: 's1',
      instanceId: agent.instanceId,
      relay: { url: t.relay.urls.mqtt, connected: true, lastError: null },
      printers: [{ id: 'counter', name: 'Counter', roles: ['receipt'], profile: 'epson-tm-t88' }],
    });
  });

  it('prints a test ticket on the printer asked for', async () => {
    const { status, body } = await call('POST', '/v1/printers/counter/test-print');
    expect(status).toBe(202);
    const created = body as LocalJobView;
    expect(created).toMatchObject({ source: 'local', printerId: 'counter', copies: 1 });
    await waitForState(created.jobId, 'printed');
    const paper = printer.printedText();
    expect(paper).toContain('TEST PRINT');
    expect(paper).toContain('s1');
    expect(paper).toContain('中文打印正常');

    const list = (await call('GET', '/v1/jobs?state=printed&limit=10')).body as { jobs: LocalJobView[] };
    expect(list.jobs.map((j) => j.jobId)).toEqual([created.jobId]);
  });

  it('reprints a printed relay job with the REPRINT mark', async () => {
    const jobId = await relayJob();
    await waitForState(jobId, 'printed');
    expect(printer.printedText()).not.toContain('REPRINT');

    const { status, body } = await call('POST', `/v1/jobs/${jobId}/reprint`);
    expect(status).toBe(201);
    const copy = body as LocalJobView;
    expect(copy).toMatchObject({ source: 'local', reprintOf: jobId, printerId: 'counter' });
    await waitForState(copy.jobId, 'printed');
    const paper = printer.printedText();
    expect(paper).toContain('REPRINT #1');
    expect(paper.split('宫保鸡丁 x1').length - 1).toBe(2);
  });

  it('lets a person print or discard a held job', async () => {
    // The printer is out until the jobs' expiry passes, so both become held (onExpiry "hold").
    printer.setFault('cover-open', true);
    const toPrint = await relayJob({ ttlSeconds: 1, onExpiry: 'hold' });
    const toDiscard = await relayJob({ ttlSeconds: 1, onExpiry: 'hold' });
    await waitForState(toPrint, 'held');
    await waitForState(toDiscard, 'held');

    const discarded = await call('POST', `/v1/jobs/${toDiscard}/discard`);
    expect(discarded.status).toBe(200);
    expect(discarded.body).toMatchObject({ jobId: toDiscard, state: 'cancelled' });
    const again = await call('POST', `/v1/jobs/${toDiscard}/print`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict', error: expect.stringContaining('not held') });

    const decided = await call('POST', `/v1/jobs/${toPrint}/print`);
    expect(decided.status).toBe(200);
    expect((decided.body as LocalJobView).state).not.toBe('held');
    printer.setFault('cover-open', false);
    await waitForState(toPrint, 'printed');
    expect(printer.printedText()).toContain('宫保鸡丁 x1');
    // The relay hears what the person decided.
    await waitFor(async () => {
      const res = await t.api(`/v1/jobs/${toDiscard}`);
      return ((await res.json()) as { state: string }).state === 'cancelled';
    }, 'the relay to see the discarded job cancelled');
  });

  it('answers errors as JSON with a status that says what is wrong', async () => {
    expect(await call('GET', '/v1/jobs/no-such-job')).toEqual({
      status: 404,
      body: { code: 'not_found', error: expect.stringContaining('no-such-job') },
    });
    expect(await call('POST', '/v1/jobs/no-such-job/reprint')).toMatchObject({ status: 404 });
    expect(await call('POST', '/v1/printers/nope/test-print')).toEqual({
      status: 404,
      body: { code: 'not_found', error: expect.stringContaining('counter') },
    });
    expect(await call('GET', '/v1/nothing')).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await call('GET', '/v1/jobs?state=lost')).toMatchObject({
      status: 400,
      body: { code: 'bad_request', error: expect.stringContaining('/state: must be one of queued') },
    });
    expect(await call('GET', '/v1/jobs?limit=many')).toMatchObject({
      status: 400,
      body: { code: 'bad_request', error: expect.stringContaining('/limit') },
    });
    // Still printing (the printer is out): nothing to reprint yet.
    printer.setFault('paper-out', true);
    const pending = (await call('POST', '/v1/printers/counter/test-print')).body as LocalJobView;
    expect(await call('POST', `/v1/jobs/${pending.jobId}/reprint`)).toMatchObject({
      status: 409,
      body: { code: 'conflict' },
    });
  });

  it('refuses requests that do not name loopback in Host, or come from another site', async () => {
    const { port } = new URL(apiUrl);
    expect(await rawGet('/v1/status', { host: `localhost:${port}` })).toMatchObject({ status: 200 });
    expect(await rawGet('/v1/status', { host: `127.0.0.1:${port}` })).toMatchObject({ status: 200 });
    // DNS rebinding: a web page's own name resolving to 127.0.0.1.
    expect(await rawGet('/v1/status', { host: `evil.example:${port}` })).toEqual({
      status: 403,
      body: { code: 'forbidden', error: expect.stringContaining('evil.example') },
    });
    // No Host at all (Node itself answers 400 to HTTP/1.1 without one).
    expect((await rawGet('/v1/status', {})).status).toBeGreaterThanOrEqual(400);
    // A cross-site POST from a page in the store's browser would otherwise print.
    const before = agent.listJobs().length;
    const res = await fetch(`${apiUrl}/v1/printers/counter/test-print`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
    expect(agent.listJobs()).toHaveLength(before);
  });

  it('refuses POSTs that other pages make however they come, and takes those of its own page and of curl', async () => {
    const { port } = new URL(apiUrl);
    const post = (headers: Record<string, string>) =>
      fetch(`${apiUrl}/v1/printing/pause`, { method: 'POST', headers });
    const refused = async (headers: Record<string, string>, why: string) => {
      const res = await post(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(((await res.json()) as { error: string }).error).toContain(why);
    };
    // Another program's page on this PC (another port) is another site too.
    await refused({ origin: 'http://127.0.0.1:1' }, 'other sites');
    await refused({ origin: `http://localhost:${Number(port) + 1}` }, 'other sites');
    // A form on a page that sends no referrer posts with Origin: null.
    await refused({ origin: 'null' }, 'other sites');
    // No Origin, but the browser says the request comes from another site.
    await refused({ 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site');
    await refused({ 'sec-fetch-site': 'same-site' }, 'Sec-Fetch-Site');
    // Neither (a browser too old for both): a form's content type gives it away.
    await refused({ 'content-type': 'application/x-www-form-urlencoded' }, 'form posts');
    await refused({ 'content-type': 'text/plain;charset=UTF-8' }, 'form posts');
    await refused({ 'content-type': 'multipart/form-data; boundary=x' }, 'form posts');
    expect(agent.view().printingPaused).toBe(false);
    // The store page itself (same origin), a person typing the URL, curl: accepted.
    expect((await post({ origin: apiUrl, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect((await post({ origin: `http://localhost:${port}` })).status).toBe(200);
    expect((await post({ 'sec-fetch-site': 'none' })).status).toBe(200);
    expect((await post({})).status).toBe(200);
    expect((await post({ 'content-type': 'application/json' })).status).toBe(200);
    expect(agent.view().printingPaused).toBe(true);
  });

  it('serves Prometheus metrics: printers, queues, link and outbox', async () => {
    const scrape = async () => {
      const res = await fetch(`${apiUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseExposition(await res.text());
    };
    // Just started: the link and the printer come up within moments.
    const idle = await waitFor(async () => {
      const s = await scrape();
      const up =
        value(s, 'printrelay_agent_relay_connected') === 1 &&
        value(s, 'printrelay_agent_printer_ready', { printer: 'counter' }) === 1;
      return up ? s : null;
    }, 'the link and the printer up in the metrics');
    expect(Number.isInteger(value(idle, 'printrelay_agent_outbox_depth'))).toBe(true); // present, once
    expect(value(idle, 'printrelay_agent_printer_queue_depth', { printer: 'counter' })).toBe(0);
    expect(value(idle, 'printrelay_agent_info', { store: agent.view().storeId })).toBe(1);
    await call('POST', '/v1/printing/pause');
    await call('POST', '/v1/printers/counter/test-print');
    const paused = await scrape();
    expect(value(paused, 'printrelay_agent_printing_paused')).toBe(1);
    expect(value(paused, 'printrelay_agent_printer_queue_depth', { printer: 'counter' })).toBe(1);
    // Another site's page cannot read it either.
    const res = await fetch(`${apiUrl}/metrics`, { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(res.status).toBe(403);
  });

  it('takes no body but empty JSON, and says so; unknown paths and methods get a 404 naming them', async () => {
    const pause = (init: RequestInit) => fetch(`${apiUrl}/v1/printing/pause`, { method: 'POST', ...init });
    const octets = await pause({ headers: { 'content-type': 'application/octet-stream' }, body: 'x' });
    expect(octets.status).toBe(415);
    expect(await octets.json()).toMatchObject({ code: 'unsupported_media_type' });
    const big = await pause({ headers: { 'content-type': 'application/json' }, body: ' '.repeat(70_000) });
    expect(big.status).toBe(413);
    expect(agent.view().printingPaused).toBe(false);
    expect((await pause({ headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
    expect(await call('DELETE', '/v1/status')).toMatchObject({
      status: 404,
      body: { error: 'no such endpoint: DELETE /v1/status' },
    });
    const head = await fetch(`${apiUrl}/v1/status`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await head.text()).toBe('');
  });

  it('serves the store page with a content security policy, and only the files it built', async () => {
    const res = await fetch(`${apiUrl}/`);
    // This agent runs from the sources, so the built page is not beside it: it says how to build it.
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('npm run build');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${apiUrl}/assets/..%2Fagent.db`)).status).toBe(404);
  });

  it('documents its endpoints in OpenAPI, those of the store page among them', async () => {
    const { status, body } = await call('GET', '/openapi.json');
    expect(status).toBe(200);
    const paths = Object.keys((body as { paths: Record<string, unknown> }).paths);
    for (const path of ['/v1/status', '/v1/attention', '/v1/last-ticket/reprint', '/v1/printing/pause']) {
      expect(paths).toContain(path);
    }
    // The page is not an API endpoint.
    expect(paths).not.toContain('/');
  });

  it('pauses and resumes printing: jobs wait in the queue meanwhile', async () => {
    expect((await call('POST', '/v1/printing/pause')).body).toEqual({ printingPaused: true });
    const { body } = await call('POST', '/v1/printers/counter/test-print');
    const job = body as LocalJobView;
    // Long enough for a ready printer to have printed it.
    await new Promise((r) => setTimeout(r, 500));
    expect((await call('GET', `/v1/jobs/${job.jobId}`)).body).toMatchObject({ state: 'queued' });
    expect(((await call('GET', '/v1/status')).body as AgentView).printingPaused).toBe(true);
    expect((await call('POST', '/v1/printing/resume')).body).toEqual({ printingPaused: false });
    await waitForState(job.jobId, 'printed');
  });

  it('reprints the last order ticket, and says so when there is none', async () => {
    expect(await call('POST', '/v1/last-ticket/reprint')).toMatchObject({
      status: 404,
      body: { error: expect.stringContaining('no order ticket') },
    });
    const first = await relayJob();
    await waitForState(first, 'printed');
    const second = await relayJob();
    await waitForState(second, 'printed');
    // A test print is not an order ticket.
    await waitForState(
      ((await call('POST', '/v1/printers/counter/test-print')).body as LocalJobView).jobId,
      'printed',
    );
    expect(((await call('GET', '/v1/status')).body as AgentView).lastTicket?.jobId).toBe(second);
    const { status, body } = await call('POST', '/v1/last-ticket/reprint');
    expect(status).toBe(201);
    expect(body).toMatchObject({ reprintOf: second, source: 'local' });
    await waitForState((body as LocalJobView).jobId, 'printed');
    expect(printer.printedText()).toContain('REPRINT #1');
  });

  it('asks about a failed job until a person prints it again or sets it aside', async () => {
    const failed = await relayJob({ printer: 'nowhere' });
    await waitForState(failed, 'failed');
    const attention = async () =>
      ((await call('GET', '/v1/attention')).body as { jobs: LocalJobView[] }).jobs;
    expect((await attention()).map((j) => j.jobId)).toEqual([failed]);
    // Printing it again needs a printer with that role: none, so it stays on the list.
    expect((await call('POST', `/v1/jobs/${failed}/print`)).status).toBe(409);
    expect((await attention()).map((j) => j.jobId)).toEqual([failed]);
    expect(await call('POST', `/v1/jobs/${failed}/discard`)).toMatchObject({
      status: 200,
      body: { state: 'failed' },
    });
    expect(await attention()).toEqual([]);
    expect(await call('POST', `/v1/jobs/${failed}/discard`)).toMatchObject({
      status: 409,
      body: { error: expect.stringContaining('already') },
    });
  });

  it('listens on 127.0.0.1 only', async () => {
    const { hostname, port } = new URL(apiUrl);
    expect(hostname).toBe('127.0.0.1');
    // Bound to 127.0.0.1 exactly: not the rest of 127/8, not any other interface.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i && !i.internal && i.family === 'IPv4')
      .map((i) => i?.address as string);
    for (const host of ['127.0.0.2', ...others]) {
      expect(await connectionRefused(host, Number(port)), host).toBe(true);
    }
  });

  it('tells which port is taken when it cannot listen', async () => {
    const { port } = new URL(apiUrl);
    await expect(startLocalApi(agent, { port: Number(port), log: silentLog })).rejects.toThrow(
      `local API: port ${port} on 127.0.0.1 is in use`,
    );
  });
});

describe('printrelay agent', () => {
  it('runs the agent from its config and stops cleanly on SIGTERM', async () => {
    // The in-process agent goes, so that the child is the store's only agent.
    await agent.close();
    await waitFor(
      async () => !((await (await t.api('/v1/stores/s1')).json()) as { online: boolean }).online,
      'offline',
    );
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ ...agentConfig(0), dataDir: 'child-data' }));
    const child = new CliProcess('agent', ['agent', '--config', file]);
    try {
      await child.waitForOutput('Press Ctrl+C to stop.');
      expect(child.output).toContain('printrelay agent');
      expect(child.output).toContain(`store s1`);
      expect(child.output).toContain(join(dir, 'child-data'));
      expect(child.output).toContain(`counter: ${printer.uri}`);
      const url = /local API +(http:\S+)/.exec(child.output)?.[1];
      const status = (await (await fetch(`${url}/v1/status`)).json()) as AgentView;
      expect(status).toMatchObject({ storeId: 's1', printers: [{ id: 'counter' }] });
      await child.waitForOutput(`relay: connected to ${t.relay.urls.mqtt}`);
      await waitFor(
        async () => ((await (await t.api('/v1/stores/s1')).json()) as { online: boolean }).online,
        'online',
      );

      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
      expect(child.output).toContain('SIGTERM: stopping the agent');
      // A clean stop says offline itself (no waiting for a keepalive timeout).
      await waitFor(
        async () => !((await (await t.api('/v1/stores/s1')).json()) as { online: boolean }).online,
        'offline',
      );
    } finally {
      await child.kill();
    }
  });

  it('names the file and the field of a bad config, and a missing one', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...agentConfig(0), printers: [{ id: 'counter', uri: 'lpt1' }] }));
    const bad = new CliProcess('agent', ['agent', '--config', file]);
    expect(await bad.exited).toBe(1);
    expect(bad.output).toContain(file);
    expect(bad.output).toContain('/printers/0/profile: is required');

    const missing = new CliProcess('agent', ['agent'], { cwd: dir });
    expect(await missing.exited).toBe(1);
    expect(missing.output).toContain(`no agent config at ${join(dir, 'agent.json')}`);
  });

  it('init writes a config the agent accepts, and does not overwrite one', async () => {
    const file = join(dir, 'new-agent.json');
    const args = ['agent', 'init', '--store', 's7', '--relay', 'mqtts://relay.example.com:8883'];
    args.push('--password', 'pra_abc_def', '-o', file);
    args.push('--printer', 'counter=tcp://192.168.1.50:9100,epson-tm-t88,receipt');
    args.push('--printer', 'kitchen=tcp://192.168.1.51,xprinter-80,kitchen,bar');
    const made = new CliProcess('agent init', args);
    expect(await made.exited).toBe(0);
    expect(loadAgentConfig(file, {})).toMatchObject({
      storeId: 's7',
      relay: { url: 'mqtts://relay.example.com:8883', password: 'pra_abc_def', clientId: 's7:agent' },
      dataDir: join(dir, 'agent-data'),
      printers: [
        { id: 'counter', uri: 'tcp://192.168.1.50:9100', profile: 'epson-tm-t88', roles: ['receipt'] },
        { id: 'kitchen', uri: 'tcp://192.168.1.51', profile: 'xprinter-80', roles: ['kitchen', 'bar'] },
      ],
    });

    const again = new CliProcess('agent init', args);
    expect(await again.exited).toBe(1);
    expect(again.output).toContain(`${file} exists; add --force to replace it`);
  });

  it('init writes printer names, backups, failover, uncertain jobs, the local API port and alternate relays', async () => {
    const file = join(dir, 'full-agent.json');
    const args = ['agent', 'init', '--store', 's8', '--relay', 'mqtts://relay.example.com:8883'];
    args.push('--password', 'pra_abc_def', '-o', file);
    args.push('--printer', 'counter=tcp://192.168.1.50:9100,epson-tm-t88,receipt');
    args.push('--printer', 'kitchen=tcp://192.168.1.51,xprinter-80,kitchen');
    args.push('--name', 'counter=收银台 Counter', '--name', 'kitchen=后厨 Kitchen');
    args.push('--backup', 'kitchen=counter', '--failover-after', '30');
    args.push('--uncertain-jobs', 'reprint-marked', '--local-api-port', 'off');
    args.push('--alternate-relay', 'mqtts://relay-b.example.com:8883');
    const made = new CliProcess('agent init', args);
    expect(await made.exited, made.output).toBe(0);
    expect(loadAgentConfig(file, {})).toMatchObject({
      relay: { url: 'mqtts://relay.example.com:8883', alternateUrls: ['mqtts://relay-b.example.com:8883'] },
      printers: [
        { id: 'counter', name: '收银台 Counter' },
        { id: 'kitchen', name: '后厨 Kitchen', backup: 'counter' },
      ],
      failover: { enabled: true, afterSeconds: 30 },
      uncertainJobs: 'reprint-marked',
      localApi: { port: null },
    });

    const wrong = new CliProcess('agent init', [...args, '--force', '--backup', 'bar=counter']);
    expect(await wrong.exited).toBe(1);
    expect(wrong.output).toContain('--backup bar=...: no printer "bar" (printers: counter, kitchen)');
  });
});

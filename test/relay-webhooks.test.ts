// Webhooks: signed with HMAC, retried with backoff, one id per event, scoped by store.
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validator } from '../protocol/validate.js';
import { JobStateEvent, PrinterStatusEvent } from '../protocol/webhooks.js';
import { addWebhook } from '../relay/admin.js';
import { retryDelay, signWebhook } from '../relay/webhooks.js';
import { FakeAgent, jobBody, startTestRelay, type TestRelay, waitFor } from './relay-helpers.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A webhook receiver that answers `status(attempt)` for the n-th attempt of each event id. */
async function receiver(status: (attempt: number) => number) {
  const received: Received[] = [];
  const attempts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const id = String(req.headers['x-printrelay-event-id']);
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      const code = status(n);
      received.push({ headers: req.headers, body, status: code });
      res.writeHead(code).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise((r) => server.close(r)) };
}

let t: TestRelay;
// The receivers listen on loopback.
const local = { allowPrivateNetworks: true };
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  t = await startTestRelay({
    webhooks: { pollMs: 20, baseDelayMs: 30, maxDelayMs: 100, maxAttempts: 3, allowPrivateNetworks: true },
  });
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await t.close();
});

const payloadOf = (r: Received) =>
  JSON.parse(r.body) as { id: string; type: string; storeId: string; data: Record<string, unknown> };

describe('relay webhooks', () => {
  it('signs each event, retries a failed delivery with the same event id, and covers job and printer changes', async () => {
    const hook = await receiver((attempt) => (attempt === 1 ? 500 : 204));
    cleanups.push(hook.close);
    const creds = await t.store('s1');
    const { secret } = await addWebhook(
      t.relay.store,
      hook.url,
      ['job.state', 'printer.status'],
      'all',
      local,
    );

    const agent = await FakeAgent.connect(t.relay.urls.mqtt, creds);
    cleanups.push(() => agent.close());
    await agent.hello();
    const res = await t.api('/v1/jobs', {
      method: 'POST',
      json: jobBody('s1'),
      headers: { 'idempotency-key': 'w1' },
    });
    const { jobId } = (await res.json()) as { jobId: string };
    await agent.waitForJob(jobId);
    await agent.send({ type: 'job-received', jobId });
    const status = {
      connected: true,
      online: true,
      paper: 'near-end',
      coverOpen: false,
      cutterError: false,
      mechanicalError: false,
      unrecoverableError: false,
      overheat: false,
      drawerOpen: false,
      source: 'asb',
      updatedAt: new Date().toISOString(),
    };
    await agent.send({ type: 'printer-status', printerId: 'p1', status });
    // The same status again (only the time differs) is no change.
    await agent.send({
      type: 'printer-status',
      printerId: 'p1',
      status: { ...status, updatedAt: new Date().toISOString() },
    });

    const delivered = () => hook.received.filter((r) => r.status === 204).map(payloadOf);
    await waitFor(() => delivered().length >= 4, 'four delivered events');
    const events = delivered();
    // What the OpenAPI document's webhooks section says is what arrives.
    for (const e of events) {
      if (e.type === 'job.state') validator(JobStateEvent)(e);
      else validator(PrinterStatusEvent)(e);
    }
    const jobStates = events.filter((e) => e.type === 'job.state').map((e) => e.data.state);
    expect(jobStates.sort()).toEqual(['accepted', 'delivered', 'sent']);
    const printer = events.filter((e) => e.type === 'printer.status');
    expect(printer).toHaveLength(1);
    expect(printer[0]?.data).toMatchObject({
      storeId: 's1',
      printerId: 'p1',
      ready: true,
      reasons: [],
      status: { paper: 'near-end' },
    });
    expect(events.every((e) => e.storeId === 's1')).toBe(true);
    expect(events.find((e) => e.data.state === 'delivered')?.data).toMatchObject({
      jobId,
      previousState: 'sent',
      orderRef: { orderNo: 'A-1001' },
    });

    for (const r of hook.received) {
      const sig = String(r.headers['x-printrelay-signature']);
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
      expect(m, sig).not.toBeNull();
      const expected = createHmac('sha256', secret).update(`${m?.[1]}.${r.body}`).digest('hex');
      expect(m?.[2]).toBe(expected);
      expect(Math.abs(Number(m?.[1]) - Date.now() / 1000)).toBeLessThan(60);
      expect(r.headers['x-printrelay-event-id']).toBe(payloadOf(r).id);
    }
    // Every event failed once, then went through with the same id.
    for (const e of events) {
      expect(hook.received.filter((r) => payloadOf(r).id === e.id).map((r) => r.status)).toEqual([500, 204]);
    }
  });

  it('gives up after the last attempt and only sends a store scoped webhook its own store', async () => {
    const down = await receiver(() => 503);
    const scoped = await receiver(() => 200);
    cleanups.push(down.close, scoped.close);
    await t.store('s1');
    await t.store('s2');
    await addWebhook(t.relay.store, down.url, ['job.state'], 'all', local);
    await addWebhook(t.relay.store, scoped.url, ['job.state'], ['s2'], local);
    await t.api('/v1/jobs', { method: 'POST', json: jobBody('s1'), headers: { 'idempotency-key': 'a' } });
    await t.api('/v1/jobs', { method: 'POST', json: jobBody('s2'), headers: { 'idempotency-key': 'b' } });

    await waitFor(() => down.received.length >= 6, 'three attempts for each of two events');
    // Delivery bookkeeping is not in the store's interfaces: read it beside the relay (WAL allows it).
    const db = new Database(join(t.dataDir, 'relay.db'), { readonly: true });
    cleanups.push(async () => db.close());
    const count = db.prepare('SELECT count(*) AS n FROM webhook_deliveries WHERE done_at IS NULL');
    const pending = () => (count.get() as { n: number }).n;
    await waitFor(() => pending() === 0, 'all deliveries done');
    await t.relay.webhooks.tick();
    expect(down.received).toHaveLength(6);
    const failed = db
      .prepare('SELECT attempts, last_error FROM webhook_deliveries WHERE delivered = 0')
      .all();
    expect(failed).toEqual([
      { attempts: 3, last_error: 'HTTP 503' },
      { attempts: 3, last_error: 'HTTP 503' },
    ]);
    expect(scoped.received.map((r) => payloadOf(r).storeId)).toEqual(['s2']);
  });

  it('backs off exponentially with jitter, up to the cap', () => {
    const opts = { baseDelayMs: 1000, maxDelayMs: 60_000 };
    for (let i = 0; i < 50; i++) {
      const d1 = retryDelay(1, opts);
      const d3 = retryDelay(3, opts);
      expect(d1).toBeGreaterThanOrEqual(750);
      expect(d1).toBeLessThanOrEqual(1250);
      expect(d3).toBeGreaterThanOrEqual(3000);
      expect(d3).toBeLessThanOrEqual(5000);
      expect(retryDelay(20, opts)).toBeLessThanOrEqual(75_000);
    }
    expect(signWebhook('k', 1, '{}')).toBe(
      `t=1,v1=${createHmac('sha256', 'k').update('1.{}').digest('hex')}`,
    );
  });
});

describe('webhook targets', () => {
  it('refuses link-local and metadata URLs always, loopback and private ones unless allowed', async () => {
    const add = (url: string, allowPrivateNetworks = false) =>
      addWebhook(t.relay.store, url, ['job.state'], 'all', { allowPrivateNetworks });
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[fe80::1]/hook',
      'http://100.100.100.200/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fd00:ec2::254]/',
      'http://0.0.0.0:8080/',
    ]) {
      await expect(add(url, true), url).rejects.toThrow(/link-local, metadata or reserved/);
    }
    for (const url of [
      'http://127.0.0.1:9000/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'https://192.168.1.20/hook',
      'http://172.20.0.1/hook',
      'http://[::1]/hook',
      'http://[::ffff:10.0.0.1]/hook',
    ]) {
      await expect(add(url), url).rejects.toThrow(/loopback or private address/);
      await expect(add(url, true), url).resolves.toMatchObject({ id: expect.any(String) });
    }
    await expect(add('https://hooks.example.com/printrelay')).resolves.toMatchObject({
      id: expect.any(String),
    });
    await expect(add('ftp://hooks.example.com/')).rejects.toThrow(/http:\/\/ or https:\/\//);
  });

  it('does not deliver to a name that resolves to a refused address', async () => {
    const guarded = await startTestRelay({
      webhooks: { pollMs: 20, baseDelayMs: 30, maxDelayMs: 100, maxAttempts: 2, allowPrivateNetworks: false },
    });
    cleanups.push(() => guarded.close());
    const hook = await receiver(() => 204);
    cleanups.push(hook.close);
    await guarded.store('s1');
    // Stored past addWebhook's check, as a name could change its DNS answer after it.
    const port = new URL(hook.url).port;
    await guarded.relay.store.addWebhook({
      id: 'rebound',
      url: `http://localhost:${port}/hook`,
      secret: 'k',
      events: ['job.state'],
      stores: 'all',
      createdAt: Date.now(),
    });
    await guarded.relay.store.addWebhook({
      id: 'literal',
      url: hook.url,
      secret: 'k',
      events: ['job.state'],
      stores: 'all',
      createdAt: Date.now(),
    });
    await guarded.createJob(jobBody('s1'));
    const db = new Database(join(guarded.dataDir, 'relay.db'), { readonly: true });
    cleanups.push(async () => db.close());
    const failed = (id: string) =>
      db.prepare('SELECT attempts, last_error FROM webhook_deliveries WHERE webhook_id = ?').get(id) as
        | { attempts: number; last_error: string | null }
        | undefined;
    await waitFor(
      () => (failed('rebound')?.attempts ?? 0) >= 1 && (failed('literal')?.attempts ?? 0) >= 1,
      'refused deliveries',
    );
    expect(failed('rebound')?.last_error).toMatch(
      /localhost resolves to (127\.0\.0\.1|::1) is a loopback or private address/,
    );
    expect(failed('literal')?.last_error).toMatch(/^127\.0\.0\.1 is a loopback or private address/);
    expect(hook.received).toEqual([]);
  });
});

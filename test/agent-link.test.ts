// The agent's relay link against the real relay: jobs in (PUBACK only once stored), outbox
// events up (batched, acknowledged, resent), presence and last will, relay restarts, refusals.
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backoffDelay, type RelayLinkOptions } from '../agent/relay-link.js';
import type { JobView } from '../protocol/job.js';
import { type PrinterStatus, unknownPrinterStatus } from '../protocol/status.js';
import { type AgentCredentials, addWebhook } from '../relay/admin.js';
import type { Log } from '../shared/log.js';
import { connectMqtt, jobBody, startTestRelay, type TestRelay, waitFor } from './relay-helpers.js';
import { AgentSide } from './support/agent-side.js';

/** The agent's durable outbox, in memory: enough to watch what the link does with it. */
function status(paper: PrinterStatus['paper']): PrinterStatus {
  return { ...unknownPrinterStatus(), connected: true, online: paper !== 'out', paper, source: 'asb' };
}

/** A TCP hop between the link and the broker that the test can cut, like a flaky store network. */
async function startCuttableProxy(target: string) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let accepting = true;
  const server = createServer({ noDelay: true }, (inbound) => {
    if (!accepting) {
      inbound.destroy();
      return;
    }
    const outbound = tcpConnect({ host: hostname, port: Number(port), noDelay: true });
    for (const [a, b] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accept(on: boolean) {
      accepting = on;
    },
    /** Kills every connection without an MQTT DISCONNECT. */
    cut() {
      for (const s of sockets) s.destroy();
    },
    async close() {
      this.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let t: TestRelay;
let creds: AgentCredentials;
const relayLog: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

const relayLogger: Log = {
  info: (m) => relayLog.push(m),
  warn: (m) => relayLog.push(m),
  error: (m) => relayLog.push(m),
};

function startRelay(extra: Parameters<typeof startTestRelay>[0] = {}) {
  return startTestRelay({
    resendAfterMs: 300,
    log: relayLogger,
    wsPort: null,
    mqttAuthThrottle: { summaryMs: 50 },
    ...extra,
  });
}

function agentSide(overrides: Partial<RelayLinkOptions> = {}, url = t.relay.urls.mqtt): AgentSide {
  const side = new AgentSide(creds, url, overrides);
  cleanups.push(() => side.link.close());
  return side;
}

async function storeOnline(): Promise<boolean> {
  const res = await t.api(`/v1/stores/${creds.storeId}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { online: boolean }).online;
}

async function jobState(id: string): Promise<JobView['state']> {
  const res = await t.api(`/v1/jobs/${id}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as JobView).state;
}

/** Connected and the relay handled the hello (so it knows the store is online). */
async function connected(side: AgentSide): Promise<void> {
  await waitFor(
    () => side.link.connected && side.outbox.events.length === 0,
    'the link to connect and say hello',
  );
  await waitFor(storeOnline, 'the store to be online');
}

beforeEach(async () => {
  relayLog.length = 0;
  t = await startRelay();
  creds = await t.store('s1');
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await t.close();
});

describe('agent relay link', () => {
  it('delivers jobs and acknowledges them only after onJob stored them', async () => {
    const side = agentSide();
    side.link.start();
    await connected(side);
    expect(side.link.lastConnectedAt).toBeInstanceOf(Date);

    side.failNextJobs = 1;
    const jobId = await t.createJob(jobBody(creds.storeId));
    // The first delivery failed to store: no PUBACK, no job-received; the relay sends it again.
    await waitFor(() => side.stored.has(jobId), 'the job to be stored on the second delivery');
    expect(side.deliveries).toEqual([jobId, jobId]);
    expect(side.stored.get(jobId)?.ticket?.blocks[0]).toMatchObject({ text: '宫保鸡丁 x1' });
    await waitFor(async () => (await jobState(jobId)) === 'delivered', 'the relay to see job-received');
    await waitFor(() => side.outbox.events.length === 0, 'job-received to be acknowledged');

    const second = await t.createJob(jobBody(creds.storeId));
    await waitFor(async () => (await jobState(second)) === 'delivered', 'a second job delivered');
    expect(side.deliveries).toEqual([jobId, jobId, second]);
  });

  it('sends the outbox in batches the relay accepts and removes what it acknowledged', async () => {
    // Long enough that nothing is resent: every batch is acknowledged on its first trip.
    const side = agentSide({ outboxResendMs: 10_000 });
    // Queued before connecting, like a night offline: more than one batch by count (500),
    // and two hellos of 20,000 job ids (~1.3 MB each) that fit the relay's 2 MiB packet
    // limit only one at a time.
    for (let i = 0; i < 520; i++) {
      side.queue({
        type: 'printer-status',
        printerId: 'counter',
        status: status(i === 519 ? 'near-end' : 'ok'),
      });
    }
    const jobIds = Array.from({ length: 20_000 }, (_, n) => `${'j'.repeat(58)}${String(n).padStart(6, '0')}`);
    for (const instanceId of ['old-1', 'old-2']) {
      const printers = [{ id: 'counter', roles: ['receipt'] }];
      side.queue({ type: 'hello', agentVersion: 'link-test', instanceId, printers, jobIds });
    }
    side.link.start();
    await waitFor(() => side.outbox.events.length === 0, 'the whole outbox to be acknowledged', 20_000);

    // 520 events and three hellos: at least 4 batches.
    expect(side.outbox.pendingCalls).toBeGreaterThanOrEqual(4);
    expect(relayLog.filter((l) => l.includes('hello from agent'))).toHaveLength(3);
    expect(relayLog.filter((l) => /dropped an event batch|disconnecting|packet/i.test(l))).toEqual([]);
    const res = await t.api(`/v1/stores/${creds.storeId}`);
    const store = (await res.json()) as { printers: { printerId: string; status: PrinterStatus | null }[] };
    // Applied in order: the last status is what the relay shows.
    expect(store.printers.find((p) => p.printerId === 'counter')?.status?.paper).toBe('near-end');
  });

  it('sends an unacknowledged batch again every outboxResendMs', async () => {
    const side = agentSide();
    side.link.start();
    await connected(side);
    // An outbox id the relay cannot take (over 100 characters): it drops the batch unacknowledged.
    side.outbox.events.push({
      type: 'job-received',
      jobId: 'j1',
      id: 'x'.repeat(101),
      at: new Date().toISOString(),
    });
    side.link.flush();
    // Three batches reaching the relay: the first send and two resends.
    await waitFor(
      () => relayLog.filter((l) => l.includes('dropped an event batch')).length >= 3,
      'two resends',
      5000,
    );
    expect(side.outbox.events).toHaveLength(1);
  });

  it('shows the store online while connected and offline after a clean close', async () => {
    const side = agentSide();
    side.link.start();
    await connected(side);
    await side.link.close();
    expect(side.link.connected).toBe(false);
    await waitFor(async () => !(await storeOnline()), 'the store to go offline');
    expect(relayLog.some((l) => l.includes('s1: offline') && !l.includes('ignored'))).toBe(true);
  });

  it('has the broker publish its last will when the connection is cut, then reconnects', async () => {
    const proxy = await startCuttableProxy(t.relay.urls.mqtt);
    cleanups.push(() => proxy.close());
    const side = agentSide({}, proxy.url);
    side.link.start();
    await connected(side);

    proxy.accept(false);
    proxy.cut();
    await waitFor(async () => !(await storeOnline()), 'the last will to mark the store offline');
    await waitFor(() => !side.link.connected && side.disconnects.length === 1, 'the link to notice');
    expect(side.link.lastError).not.toBeNull();

    proxy.accept(true);
    await connected(side);
    expect(side.link.lastError).toBeNull();
    const jobId = await t.createJob(jobBody(creds.storeId));
    await waitFor(async () => (await jobState(jobId)) === 'delivered', 'a job after reconnecting');
  });

  // Two addresses of one relay (as two processes of a cluster would be): the first one dies,
  // the link moves to the other without losing an event, and keeps to it.
  it('moves to the next relay address when its relay is gone, and comes up on the next one at start', async () => {
    const first = await startCuttableProxy(t.relay.urls.mqtt);
    cleanups.push(() => first.close());
    const side = agentSide({ urls: [first.url, t.relay.urls.mqtt], reconnect: { minMs: 50, maxMs: 500 } });
    side.link.start();
    await connected(side);
    expect(side.link.url).toBe(first.url);

    first.accept(false);
    first.cut();
    await waitFor(() => !side.link.connected, 'the link to notice');
    const [queued] = side.queue({ type: 'printer-status', printerId: 'counter', status: status('out') });
    await connected(side);
    expect(side.link.url).toBe(t.relay.urls.mqtt);
    // The event queued while it was down went through the other address (connected() waits for the ack).
    expect(side.outbox.events.map((e) => e.id)).not.toContain(queued);
    const store = (await (await t.api(`/v1/stores/${creds.storeId}`)).json()) as {
      printers: { printerId: string; status: PrinterStatus | null }[];
    };
    expect(store.printers.find((p) => p.printerId === 'counter')?.status?.paper).toBe('out');
    const jobId = await t.createJob(jobBody(creds.storeId));
    await waitFor(async () => (await jobState(jobId)) === 'delivered', 'a job through the other address');
    // It stays: the first address accepting again changes nothing.
    first.accept(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(side.link.url).toBe(t.relay.urls.mqtt);
    expect(side.link.connected).toBe(true);
    await side.link.close();

    // A first address that is down from the start: the agent comes up on the next one.
    await first.close();
    const late = agentSide({ urls: [first.url, t.relay.urls.mqtt], reconnect: { minMs: 50, maxMs: 500 } });
    late.link.start();
    await connected(late);
    expect(late.link.url).toBe(t.relay.urls.mqtt);
  });

  it('survives a relay restart: reconnects, resends its outbox and gets jobs again', async () => {
    const side = agentSide();
    side.link.start();
    await connected(side);
    const { port } = new URL(t.relay.urls.mqtt);

    await t.close({ keepData: true });
    await waitFor(() => !side.link.connected, 'the link to notice the relay is gone');
    expect(side.disconnects).toHaveLength(1);
    const [queued] = side.queue({ type: 'printer-status', printerId: 'counter', status: status('out') });
    // Still down: failed attempts are retried with backoff and the event stays queued.
    await waitFor(() => side.link.lastError?.includes('ECONNREFUSED'), 'a failed reconnect');
    expect(side.outbox.events.map((e) => e.id)).toEqual([queued]);

    t = await startRelay({ dataDir: t.dataDir, mqttPort: Number(port) });
    await connected(side);
    const store = (await (await t.api(`/v1/stores/${creds.storeId}`)).json()) as {
      printers: { printerId: string; status: PrinterStatus | null }[];
    };
    expect(store.printers.find((p) => p.printerId === 'counter')?.status?.paper).toBe('out');

    const jobId = await t.createJob(jobBody(creds.storeId));
    await waitFor(async () => (await jobState(jobId)) === 'delivered', 'a job after the restart');
  });

  it('says the credentials were refused and keeps retrying', async () => {
    const side = new AgentSide(
      { ...creds, password: `${creds.password.slice(0, -4)}nope` },
      t.relay.urls.mqtt,
    );
    cleanups.push(() => side.link.close());
    side.link.start();
    // The relay logs refused logins as a summary line per interval.
    const refused = () =>
      relayLog
        .map((l) => /^mqtt: refused (\d+) login\(s\).*bad-credentials/.exec(l)?.[1])
        .reduce((n, count) => n + Number(count ?? 0), 0);
    await waitFor(() => refused() >= 3, 'three refused attempts');
    expect(side.link.connected).toBe(false);
    expect(side.link.lastConnectedAt).toBeNull();
    expect(side.link.lastError).toMatch(/refused the credentials of store s1 \(bad username or password\)/);
    expect(side.disconnects).toEqual([]);
  });
});

/** A Log that keeps its lines. */
function captureLog(lines: string[]): Log {
  return { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

/** A webhook receiver (HQ's view of store events): the bodies it was sent. */
async function webhookReceiver() {
  const bodies: { type: string; storeId: string; data: unknown }[] = [];
  const server = createHttpServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

describe('relay CA file', () => {
  it('says relay.caFile cannot be read, and tries again', async () => {
    const lines: string[] = [];
    const side = agentSide({ caFile: '/nonexistent/relay-ca.pem', log: captureLog(lines) });
    side.link.start();
    await waitFor(() => lines.length >= 2, 'two attempts');
    expect(side.link.lastError).toBe('cannot read relay.caFile /nonexistent/relay-ca.pem: ENOENT');
    expect(side.link.connected).toBe(false);
  });
});

describe('store identity', () => {
  it('two agents with one identity: each taken over says so and backs off slowly, the store never flaps, HQ gets one event', async () => {
    const hq = await webhookReceiver();
    await addWebhook(t.relay.store, hq.url, ['store.identity-conflict'], 'all', {
      allowPrivateNetworks: true,
    });
    const firstLog: string[] = [];
    // The first agent comes back quickly after being pushed off, to push the second off in turn.
    const first = agentSide({ log: captureLog(firstLog), conflictRetry: { minMs: 300, maxMs: 400 } });
    first.link.start();
    await connected(first);
    const since = relayLog.length;
    let offlineSeen = false;
    const watch = setInterval(() => {
      t.relay.store.getStore(creds.storeId).then((s) => {
        if (!s?.online) offlineSeen = true;
      });
    }, 5);
    cleanups.push(async () => clearInterval(watch));

    const secondLog: string[] = [];
    const second = agentSide({ log: captureLog(secondLog) });
    second.link.start();
    // The first is told who took over, and says so.
    await waitFor(() => first.link.identityConflictAt, 'the first agent to notice the takeover');
    expect(first.link.lastError).toMatch(/another agent is using this store's identity/);
    // Once its connection is closed: the wait it chose.
    await waitFor(
      () => /another agent is using this store's identity.*retrying in 0\.[34]/s.test(firstLog.join('\n')),
      'the first agent to log the conflict and its short wait',
    );
    // It comes back and takes over: now the second is told, and waits a minute or more.
    await waitFor(() => second.link.identityConflictAt, 'the second agent to notice the takeover', 8000);
    await waitFor(() => first.link.connected, 'the first agent to hold the connection');
    expect(second.link.lastError).toMatch(/another agent is using this store's identity/);
    const retry = await waitFor(
      () =>
        secondLog.join('\n').match(/another agent is using this store's identity.*retrying in ([\d.]+) s/s),
      'the second agent to log the conflict and its wait',
    );
    expect(Number(retry?.[1])).toBeGreaterThanOrEqual(60);
    // No reconnect loop: the second stays away while the first keeps the connection.
    await new Promise((r) => setTimeout(r, 1500));
    expect(second.link.connected).toBe(false);
    expect(first.link.connected).toBe(true);

    const log = relayLog.slice(since);
    expect(offlineSeen).toBe(false);
    expect(log.filter((l) => /s1: offline/.test(l))).toEqual([]);
    expect(log.filter((l) => l.includes("another agent is using this store's identity"))).toHaveLength(1);
    expect(log.filter((l) => l.includes('identity conflict goes on'))).toHaveLength(1);
    await waitFor(() => hq.bodies.length > 0, 'the webhook');
    await new Promise((r) => setTimeout(r, 300));
    expect(hq.bodies).toHaveLength(1);
    expect(hq.bodies[0]).toMatchObject({
      type: 'store.identity-conflict',
      storeId: creds.storeId,
      data: {
        storeId: creds.storeId,
        previous: { clientId: creds.clientId, address: '127.0.0.1' },
        next: { clientId: creds.clientId, address: '127.0.0.1' },
      },
    });
  });

  it('replaces a connection that no longer answers without calling it a conflict', async () => {
    // An MQTT connection whose agent is gone (a PC that lost power behind a NAT): the relay
    // still holds it, nothing reads from it.
    const socket = tcpConnect({ host: '127.0.0.1', port: Number(new URL(t.relay.urls.mqtt).port) });
    await once(socket, 'connect');
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepalive: 0,
        clientId: creds.clientId,
        username: creds.username,
        password: Buffer.from(creds.password),
      }),
    );
    await once(socket, 'data'); // CONNACK
    socket.pause();
    cleanups.push(async () => {
      socket.destroy();
    });
    const side = agentSide();
    side.link.start();
    await connected(side);
    expect(side.link.identityConflictAt).toBeNull();
    expect(relayLog.some((l) => l.includes('replaced one that no longer answered'))).toBe(true);
    expect(relayLog.filter((l) => l.includes('another agent'))).toEqual([]);
  });

  it('leaves the agent alone when the store logs in under another client id without subscribing', async () => {
    const side = agentSide();
    side.link.start();
    await connected(side);
    // What `printrelay doctor` does to check the credentials.
    const check = await connectMqtt(t.relay.urls.mqtt, {
      clientId: `${creds.storeId}:doctor`,
      username: creds.username,
      password: creds.password,
    });
    await check.endAsync();
    const jobId = await t.createJob(jobBody(creds.storeId));
    await waitFor(() => side.stored.has(jobId), 'the job at the agent');
    expect(side.disconnects).toEqual([]);
    expect(side.link.identityConflictAt).toBeNull();
  });

  it("gives the store's jobs to one connection only, whatever its client id", async () => {
    const first = agentSide();
    first.link.start();
    await connected(first);
    const other = agentSide({ clientId: `${creds.storeId}:second-pc` });
    other.link.start();
    await waitFor(() => first.link.identityConflictAt, 'the first agent to be taken over');
    await waitFor(() => other.link.connected, 'the other agent to connect');
    expect(first.link.lastError).toMatch(/client "s1:second-pc" from 127\.0\.0\.1/);
    const jobId = await t.createJob(jobBody(creds.storeId));
    await waitFor(() => other.stored.has(jobId), 'the job at the connected agent');
    expect(first.deliveries).not.toContain(jobId);
  });
});

describe('reconnect backoff', () => {
  it('is random between the minimum and an exponential ceiling capped at the maximum', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(30_000, 1000 * 2 ** (attempt + 1));
      const delays = Array.from({ length: 200 }, () => backoffDelay(attempt, 1000, 30_000));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(1000);
      expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
      // Spread out, so that 140 stores do not all come back in the same second.
      expect(new Set(delays).size).toBeGreaterThan(50);
    }
  });
});

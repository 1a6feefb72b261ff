// The broker's authentication and topic ACL, over TCP, WebSocket and TLS.
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { topics } from '../protocol/topics.js';
import type { AgentCredentials } from '../relay/admin.js';
import { packetSizeGuard } from '../relay/broker/packet-guard.js';
import { connectMqtt, FakeAgent, jobBody, startTestRelay, type TestRelay, waitFor } from './relay-helpers.js';

// Self-signed EC certificate for localhost/127.0.0.1, valid until 2126: test use only.
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDzAfu8q9e/N5otsG
Pseug83NKzpjlI/EumIk30M30sihRANCAATe88r+lCeOJztutJROkxeSACVPl06O
RWxU15+iFLj3Cv6s4A5xdUnG8lwfOPp62SWp2rTHo6rXJQKFaUUtLkwW
-----END PRIVATE KEY-----
`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIULXRl8NZwZbSMhK/V56R46hLWM64wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNDEwNDY0OVoYDzIxMjYxMDMx
MTA0NjQ5WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATe88r+lCeOJztutJROkxeSACVPl06ORWxU15+iFLj3Cv6s4A5xdUnG
8lwfOPp62SWp2rTHo6rXJQKFaUUtLkwWo28wbTAdBgNVHQ4EFgQUNwi77YyssOYN
0xxMegGSVwjVJYUwHwYDVR0jBBgwFoAUNwi77YyssOYN0xxMegGSVwjVJYUwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSQAwRgIhALE856AFMqD0Tk0psyvcC+ilOJlV+mT0G2eR8pVYQg6eAiEA
/GnmLvcMPtbCAdkfOJg4M3pR2a8O5Nt4zxlxYZMzPBM=
-----END CERTIFICATE-----
`;

let t: TestRelay;
let a: AgentCredentials;
let b: AgentCredentials;

beforeAll(async () => {
  t = await startTestRelay({
    tls: { cert: TLS_CERT, key: TLS_KEY, httpsPort: 0, mqttsPort: 0, wssPort: 0 },
    maxPacketBytes: 64 * 1024,
  });
  a = await t.store('storeA');
  b = await t.store('storeB');
});
afterAll(() => t.close());

function refusal(creds: { clientId: string; username?: string; password?: string }) {
  return connectMqtt(t.relay.urls.mqtt, { ...creds, clean: true });
}

describe('relay broker authentication', () => {
  it('refuses wrong passwords, unknown users and missing credentials', async () => {
    await expect(
      refusal({ clientId: a.clientId, username: a.username, password: `${a.password.slice(0, -2)}xx` }),
    ).rejects.toMatchObject({ code: 4 });
    await expect(
      refusal({ clientId: 'ghost', username: 'ghost', password: a.password }),
    ).rejects.toMatchObject({ code: 4 });
    await expect(
      refusal({ clientId: a.clientId, username: b.username, password: a.password }),
    ).rejects.toMatchObject({ code: 4 });
    await expect(refusal({ clientId: a.clientId })).rejects.toMatchObject({ code: 4 });
    await expect(
      refusal({ clientId: a.clientId, username: a.username, password: 'hunter2' }),
    ).rejects.toMatchObject({ code: 4 });
  });

  it("refuses a client id that is not the store's own (it could take over another store's session)", async () => {
    await expect(
      refusal({ clientId: b.clientId, username: a.username, password: a.password }),
    ).rejects.toMatchObject({ code: 2 });
    const ok = await connectMqtt(t.relay.urls.mqtt, {
      clientId: `${a.storeId}:second`,
      username: a.username,
      password: a.password,
    });
    await ok.endAsync();
  });
});

describe('relay broker topic ACL', () => {
  it("keeps store A's credentials away from store B's topics", async () => {
    const agentB = await FakeAgent.connect(t.relay.urls.mqtt, b);
    await agentB.hello();
    // A second client with store A's credentials tries to read store B's jobs.
    const spy = await connectMqtt(t.relay.urls.mqtt, {
      clientId: `${a.storeId}:spy`,
      username: a.username,
      password: a.password,
    });
    const seen: string[] = [];
    spy.on('message', (topic) => seen.push(topic));
    for (const filter of [
      topics.agentDownlink(b.storeId),
      topics.jobs(b.storeId),
      '#',
      'printrelay/v1/stores/+/down/jobs',
      topics.events(a.storeId),
    ]) {
      await expect(spy.subscribeAsync(filter, { qos: 1 }), filter).rejects.toMatchObject({
        packet: { granted: [128] },
      });
    }
    await spy.subscribeAsync(topics.agentDownlink(a.storeId), { qos: 1 });
    const jobId = await t.createJob(jobBody(b.storeId));
    await agentB.waitForJob(jobId);
    await agentB.send({ type: 'job-received', jobId });
    expect(seen).toEqual([]);
    expect(spy.connected).toBe(true);
    await spy.endAsync();
    await agentB.close();
  });

  it("disconnects a client that publishes to another store's topics or to a downlink", async () => {
    const jobId = await t.createJob(jobBody(b.storeId));
    for (const [topic, payload] of [
      [
        topics.events(b.storeId),
        {
          v: PROTOCOL_VERSION,
          events: [{ id: 'x1', at: new Date().toISOString(), type: 'job-state', jobId, state: 'printed' }],
        },
      ],
      [topics.jobs(a.storeId), { v: PROTOCOL_VERSION, jobId: 'forged' }],
      [topics.presence(b.storeId), { v: PROTOCOL_VERSION, online: true }],
    ] as const) {
      const intruder = await connectMqtt(t.relay.urls.mqtt, {
        clientId: a.clientId,
        username: a.username,
        password: a.password,
      });
      const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
      intruder.publish(topic, JSON.stringify(payload), { qos: 1 });
      await closed;
      intruder.end(true);
    }
    const job = (await (await t.api(`/v1/jobs/${jobId}`)).json()) as { state: string };
    expect(['accepted', 'sent']).toContain(job.state);
  });

  it('refuses a retained message outside presence', async () => {
    const agent = await connectMqtt(t.relay.urls.mqtt, {
      clientId: a.clientId,
      username: a.username,
      password: a.password,
    });
    const closed = new Promise<void>((resolve) => agent.once('close', () => resolve()));
    agent.publish(topics.events(a.storeId), '{}', { qos: 1, retain: true });
    await closed;
    agent.end(true);
  });
});

describe('relay broker listeners', () => {
  it('serves agents over WebSocket', async () => {
    const ws = t.relay.urls.ws;
    expect(ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const agent = await FakeAgent.connect(ws as string, a);
    await agent.hello();
    const jobId = await t.createJob(jobBody(a.storeId));
    await agent.waitForJob(jobId);
    await agent.close();
  });

  it('serves agents over TLS', async () => {
    const url = t.relay.urls.mqtts as string;
    expect(url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const client = await connectMqtt(url, {
      clientId: a.clientId,
      username: a.username,
      password: a.password,
      ca: TLS_CERT,
      servername: 'localhost',
    });
    await client.subscribeAsync(topics.agentDownlink(a.storeId), { qos: 1 });
    await client.endAsync();
    await expect(
      connectMqtt(url, {
        clientId: a.clientId,
        username: a.username,
        password: 'nope',
        ca: TLS_CERT,
        servername: 'localhost',
      }),
    ).rejects.toMatchObject({ code: 4 });
  });

  it('marks a store offline from the last will, but not from an older connection', async () => {
    const first = await FakeAgent.connect(t.relay.urls.mqtt, a);
    await waitFor(async () => (await t.relay.store.getStore(a.storeId))?.online, 'store online');
    // The same client id connects again and takes the session over.
    const second = await FakeAgent.connect(t.relay.urls.mqtt, a);
    await waitFor(() => !first.client.connected, 'the first connection to be taken over');
    // The first connection's will arriving late must not mark the store offline.
    await second.client.publishAsync(topics.presence(a.storeId), first.presence(false), {
      qos: 1,
      retain: true,
    });
    await second.hello();
    const store = await t.relay.store.getStore(a.storeId);
    expect(store).toMatchObject({ online: true, connectionId: second.connectionId });
    second.drop();
    await waitFor(
      async () => !(await t.relay.store.getStore(a.storeId))?.online,
      'store offline after the will',
    );
    first.client.end(true);
  });
});

describe('relay broker packet size limit', () => {
  it('closes a connection that announces an oversized packet, even before CONNECT is done', async () => {
    const socket = tcpConnect(Number(new URL(t.relay.urls.mqtt).port), '127.0.0.1');
    await once(socket, 'connect');
    // CONNECT (0x10) declaring 100 MB of remaining length.
    socket.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x30]));
    await once(socket, 'close');
  });

  it('disconnects an agent that publishes more than the limit and keeps serving others', async () => {
    const big = await connectMqtt(t.relay.urls.mqtt, {
      clientId: `${a.storeId}:big`,
      username: a.username,
      password: a.password,
    });
    big.on('error', () => {}); // the reset is expected
    const closed = new Promise<void>((resolve) => big.once('close', () => resolve()));
    big.publish(topics.events(a.storeId), 'x'.repeat(100 * 1024), { qos: 1 });
    await closed;
    big.end(true);
    const agent = await FakeAgent.connect(t.relay.urls.mqtt, a);
    await agent.hello();
    await agent.close();
  });

  it('passes packets through whatever the chunking', async () => {
    // QoS 0 PUBLISH to topic "t": fixed header, variable-length remaining length, topic, payload.
    const publish = (payload: Buffer) => {
      const body = Buffer.concat([Buffer.from([0, 1, 0x74]), payload]);
      const len: number[] = [];
      for (let n = body.length; ; ) {
        const byte = n % 128;
        n = Math.floor(n / 128);
        len.push(n > 0 ? byte | 0x80 : byte);
        if (n === 0) break;
      }
      return Buffer.concat([Buffer.from([0x30, ...len]), body]);
    };
    const pingreq = Buffer.from([0xc0, 0x00]);
    const packets = [pingreq, publish(Buffer.alloc(300, 1)), publish(Buffer.alloc(20_000, 2))];
    const all = Buffer.concat(packets);
    for (const size of [1, 2, 3, 7, 1000, all.length]) {
      const guard = packetSizeGuard(64 * 1024);
      const out: Buffer[] = [];
      guard.on('data', (c: Buffer) => out.push(c));
      for (let i = 0; i < all.length; i += size) guard.write(all.subarray(i, i + size));
      guard.end();
      await once(guard, 'end');
      expect(Buffer.concat(out).equals(all)).toBe(true);
    }
    const small = packetSizeGuard(100);
    const failed = once(small, 'error');
    small.write(packets[1] as Buffer);
    expect(String((await failed)[0])).toMatch(/303 bytes is over the 100-byte limit/);
  });
});

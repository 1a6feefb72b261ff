// TLS on every relay listener (HTTPS, MQTTS, WSS) with a private CA made for the run: they
// work for a client that trusts the CA and fail for one that does not; plain listeners can be
// turned off and /healthz says which are plain; a new certificate is served without dropping
// connected agents, both in-process and on a real SIGHUP to `printrelay relay start`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addStore } from '../relay/admin.js';
import { openRelayStore } from '../relay/store/open.js';
import { connectMqtt, FakeAgent, jobBody, startTestRelay, type TestRelay, tempDir } from './relay-helpers.js';
import { CliProcess, freePort } from './support/e2e.js';
import { issueServerCert, makeTestCa, type ServerCert, type TestCa } from './support/tls.js';

let dir: string;
let ca: TestCa;
let first: ServerCert;
let second: ServerCert;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'printrelay-tls-'));
  ca = makeTestCa(dir);
  first = issueServerCert(ca, 'relay-first');
  second = issueServerCert(ca, 'relay-second');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** GET over HTTPS; `ca` undefined: the system's CAs only. */
function httpsJson(url: string, trust?: Buffer): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, trust ? { ca: trust } : {}, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    }).on('error', reject);
  });
}

/** The common name of the certificate a fresh TLS connection to `url` is given. */
async function servedName(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: hostname, port: Number(port), ca: ca.ca, servername: 'localhost' },
      () => {
        const cn = socket.getPeerCertificate().subject.CN;
        socket.end();
        resolve(Array.isArray(cn) ? cn.join() : (cn ?? ''));
      },
    );
    socket.on('error', reject);
  });
}

const UNTRUSTED = /self-signed certificate in certificate chain|unable to verify/i;

describe('relay TLS listeners', () => {
  let t: TestRelay;

  beforeAll(async () => {
    t = await startTestRelay({
      tls: { cert: first.cert, key: first.key, httpsPort: 0, mqttsPort: 0, wssPort: 0 },
    });
  });
  afterAll(() => t.close());

  it('serves the HTTP API over HTTPS to a client that trusts the CA, and to no other', async () => {
    const url = t.relay.urls.https as string;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpsJson(`${url}/healthz`, ca.ca);
    expect(res.status).toBe(200);
    await expect(httpsJson(`${url}/healthz`)).rejects.toThrow(UNTRUSTED);
  });

  it('says on /healthz which listeners are plain', async () => {
    const res = await httpsJson(`${t.relay.urls.https}/healthz`, ca.ca);
    const body = res.body as {
      ok: boolean;
      listeners: { kind: string; url: string; tls: boolean }[];
      plain: string[];
    };
    expect(body.ok).toBe(true);
    expect(body.listeners.map((l) => [l.kind, l.tls])).toEqual([
      ['http', false],
      ['https', true],
      ['mqtt', false],
      ['mqtts', true],
      ['ws', false],
      ['wss', true],
    ]);
    expect(body.listeners.find((l) => l.kind === 'wss')?.url).toBe(t.relay.urls.wss);
    expect(body.plain).toEqual(['http', 'mqtt', 'ws']);
  });

  it('takes agents over MQTTS and WSS with the CA, and refuses the connection without it', async () => {
    for (const [i, url] of [t.relay.urls.mqtts, t.relay.urls.wss].entries()) {
      const creds = await t.store(`tls${i}`);
      expect(url).toMatch(/^(mqtts|wss):\/\/127\.0\.0\.1:\d+$/);
      const agent = await FakeAgent.connect(url as string, creds, { ca: ca.ca });
      await agent.hello();
      const jobId = await t.createJob(jobBody(creds.storeId));
      await agent.waitForJob(jobId);
      await agent.close();
      await expect(
        connectMqtt(url as string, {
          clientId: creds.clientId,
          username: creds.username,
          password: creds.password,
        }),
      ).rejects.toThrow(UNTRUSTED);
    }
  });

  it('serves a new certificate to new connections while connected agents stay up', async () => {
    const creds = await t.store('reload');
    const agent = await FakeAgent.connect(t.relay.urls.mqtts as string, creds, { ca: ca.ca });
    await agent.hello();
    let closed = false;
    agent.client.on('close', () => {
      closed = true;
    });
    for (const url of [t.relay.urls.https, t.relay.urls.mqtts, t.relay.urls.wss]) {
      expect(await servedName(url as string)).toBe('relay-first');
    }
    // A key that is not the certificate's is refused, and the old pair stays.
    expect(() => t.relay.reloadTls({ cert: second.cert, key: first.key })).toThrow(
      /unusable TLS certificate or key/,
    );
    expect(await servedName(t.relay.urls.mqtts as string)).toBe('relay-first');

    t.relay.reloadTls({ cert: second.cert, key: second.key });
    for (const url of [t.relay.urls.https, t.relay.urls.mqtts, t.relay.urls.wss]) {
      expect(await servedName(url as string)).toBe('relay-second');
    }
    // The agent connected before the reload still gets its jobs on the same connection.
    const jobId = await t.createJob(jobBody(creds.storeId));
    await agent.waitForJob(jobId);
    expect(closed).toBe(false);
    await agent.close();
  });
});

describe('relay without plain listeners', () => {
  it('listens on TLS only, and /healthz lists no plain listener', async () => {
    const t = await startTestRelay({
      httpPort: null,
      mqttPort: null,
      wsPort: null,
      tls: { cert: first.cert, key: first.key, httpsPort: 0, mqttsPort: 0, wssPort: 0 },
    });
    try {
      expect(t.relay.listeners.every((l) => l.tls)).toBe(true);
      expect(t.relay.urls.http).toBe(t.relay.urls.https);
      expect(t.relay.urls.mqtt).toBe(t.relay.urls.mqtts);
      const res = await httpsJson(`${t.relay.urls.http}/healthz`, ca.ca);
      expect((res.body as { plain: string[] }).plain).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('refuses to start without any MQTT listener', async () => {
    await expect(startTestRelay({ mqttPort: null, tls: null })).rejects.toThrow(
      /needs an MQTT or MQTTS listener/,
    );
  });
});

describe('printrelay relay start with TLS', () => {
  it('prints each listener as TLS, and reloads the certificate on SIGHUP without dropping an agent', async () => {
    const work = mkdtempSync(join(tmpdir(), 'printrelay-tls-cli-'));
    const dataDir = tempDir();
    const certFile = join(work, 'relay.pem');
    const keyFile = join(work, 'relay.key');
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    const [https, mqtts, wss] = [await freePort(), await freePort(), await freePort()];
    const relay = new CliProcess('relay', [
      'relay',
      'start',
      '--data-dir',
      dataDir,
      '--host',
      '127.0.0.1',
      '--no-plain',
      '--tls-cert',
      certFile,
      '--tls-key',
      keyFile,
      '--https-port',
      String(https),
      '--mqtts-port',
      String(mqtts),
      '--wss-port',
      String(wss),
    ]);
    try {
      await relay.waitForOutput('Press Ctrl+C to stop.', 20_000);
      for (const url of [
        `https://127.0.0.1:${https}`,
        `mqtts://127.0.0.1:${mqtts}`,
        `wss://127.0.0.1:${wss}`,
      ]) {
        expect(relay.output).toMatch(new RegExp(`${url.replace(/[/.]/g, '\\$&')}\\s+TLS`));
      }
      expect(relay.output).not.toMatch(/plain/);

      const store = openRelayStore(dataDir);
      const creds = (await addStore(store, 'sighup', 'Store sighup')).credentials;
      await store.close();
      const agent = await FakeAgent.connect(`mqtts://localhost:${mqtts}`, creds, { ca: ca.ca });
      await agent.hello();
      let closed = false;
      agent.client.on('close', () => {
        closed = true;
      });
      expect(await servedName(`mqtts://127.0.0.1:${mqtts}`)).toBe('relay-first');

      writeFileSync(certFile, second.cert);
      writeFileSync(keyFile, second.key);
      process.kill(relay.pid, 'SIGHUP');
      await relay.waitForOutput('SIGHUP: TLS certificate reloaded');
      for (const port of [https, mqtts, wss]) {
        expect(await servedName(`tls://127.0.0.1:${port}`)).toBe('relay-second');
      }
      // Same connection, still answering: the relay acknowledges its events.
      await agent.hello();
      expect(closed).toBe(false);
      await agent.close();
    } finally {
      await relay.kill('SIGTERM');
      rmSync(work, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

// The store agent (a child process of the test build) against a relay that takes MQTT over TLS
// only, with a certificate from a private CA made for the run: with relay.caFile it prints an
// order; without it it cannot connect and says why; and it will not send its password in
// clear to a relay on another machine unless its config says allowPlaintext.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../protocol/job.js';
import type { AgentCredentials } from '../relay/admin.js';
import { startTestRelay, type TestRelay } from './relay-helpers.js';
import { AgentProcess, CliProcess, E2e, freePort, markedJob, ticketsWith, waitFor } from './support/e2e.js';
import { issueServerCert, makeTestCa, type TestCa } from './support/tls.js';

const e2e = new E2e();
let ca: TestCa;
let t: TestRelay;

beforeAll(async () => {
  ca = makeTestCa(e2e.tempDir());
  const cert = issueServerCert(ca, 'relay');
  // Agents reach this relay over MQTTS only; the HTTP API stays plain on loopback for the test.
  t = await startTestRelay({
    mqttPort: null,
    wsPort: null,
    tls: { cert: cert.cert, key: cert.key, httpsPort: null, mqttsPort: 0, wssPort: null },
  });
  e2e.onClose(() => t.close());
});
afterAll(() => e2e.close());

/** Writes an agent config in a fresh folder; `relay` adds to or replaces its relay section. */
async function agentConfig(creds: AgentCredentials, printerUri: string, relay: Record<string, unknown>) {
  const dir = e2e.tempDir();
  const localApiPort = await freePort();
  const file = join(dir, 'agent.json');
  writeFileSync(
    file,
    JSON.stringify({
      storeId: creds.storeId,
      relay: { password: creds.password, clientId: creds.clientId, ...relay },
      dataDir: 'data',
      printers: [{ id: 'counter', uri: printerUri, profile: 'epson-tm-t88', roles: ['receipt'] }],
      localApi: { port: localApiPort },
    }),
  );
  return { dir, file, localApiPort };
}

async function storeOnline(storeId: string): Promise<boolean> {
  return ((await (await t.api(`/v1/stores/${storeId}`)).json()) as { online: boolean }).online;
}

describe('agent over TLS', { timeout: 60_000 }, () => {
  it('prints an order over MQTTS, trusting the relay through relay.caFile', async () => {
    const creds = await t.store('tls1');
    const printer = await e2e.printer();
    const mqtts = (t.relay.urls.mqtts as string).replace('127.0.0.1', 'localhost');
    const { dir, file, localApiPort } = await agentConfig(creds, printer.uri, {
      url: mqtts,
      caFile: 'ca.pem',
    });
    // Relative to the config file, like dataDir.
    copyFileSync(ca.caFile, join(dir, 'ca.pem'));
    const agent = new AgentProcess(file, localApiPort);
    e2e.onClose(() => agent.kill9());
    await agent.start();
    await waitFor(() => storeOnline(creds.storeId), 'the store online over MQTTS', 15_000);

    const jobId = await t.createJob(markedJob(creds.storeId, 'TLS-0001'));
    await waitFor(
      async () => ((await (await t.api(`/v1/jobs/${jobId}`)).json()) as JobView).state === 'printed',
      'the job printed',
      20_000,
    );
    expect(ticketsWith(printer, 'TLS-0001')).toBe(1);
    expect((await agent.status()).relay).toMatchObject({ connected: true, lastError: null });
  });

  it('does not connect without the CA, and its status says the certificate is not trusted', async () => {
    const creds = await t.store('tls2');
    const printer = await e2e.printer();
    const { file, localApiPort } = await agentConfig(creds, printer.uri, { url: t.relay.urls.mqtts });
    const agent = new AgentProcess(file, localApiPort);
    e2e.onClose(() => agent.kill9());
    await agent.start();
    const status = await waitFor(async () => {
      const s = await agent.status();
      return s.relay.lastError ? s : null;
    }, 'a failed connection');
    expect(status.relay.lastError).toMatch(
      /TLS certificate is not trusted \(unable to verify the first certificate\).*set relay\.caFile/,
    );
    expect(status.relay.connected).toBe(false);
    expect(await storeOnline(creds.storeId)).toBe(false);
  });

  it('printrelay doctor trusts the relay through relay.caFile too', async () => {
    const creds = await t.store('tls4');
    const mqtts = (t.relay.urls.mqtts as string).replace('127.0.0.1', 'localhost');
    const { dir, file } = await agentConfig(creds, 'tcp://127.0.0.1:9', { url: mqtts, caFile: 'ca.pem' });
    copyFileSync(ca.caFile, join(dir, 'ca.pem'));
    const doctor = new CliProcess('doctor', ['doctor', '--config', file, '--json', '--lang', 'en']);
    await doctor.exited;
    const report = JSON.parse(doctor.output) as { checks: { id: string; status: string; found: string }[] };
    const status = (id: string) => report.checks.find((c) => c.id === id);
    expect(status('tls')).toMatchObject({ status: 'ok' });
    expect(status('login')).toMatchObject({ status: 'ok' });
  });

  it('refuses mqtt:// to a relay on another machine unless relay.allowPlaintext is true', async () => {
    const creds = await t.store('tls3');
    const { file } = await agentConfig(creds, 'tcp://127.0.0.1:9', { url: 'mqtt://relay.example.com:1883' });
    const agent = new CliProcess('agent', ['agent', '--config', file]);
    expect(await agent.exited).not.toBe(0);
    expect(agent.output).toMatch(
      /\/relay\/url: relay\.example\.com is not this PC.*relay\.allowPlaintext: true/,
    );
  });
});

// End to end on what an operator does to a running relay: the `printrelay relay` admin commands
// (child processes) reach the relay child through its admin socket and act at once (rotate,
// disable, enable, remove; enrolment replaces credentials), refuse a data dir with no relay in
// it, and `relay start` names its data dir in its hints and the option for a taken port.
import { existsSync, readdirSync, statSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeChild } from '../harness/child.js';
import type { AgentCredentials } from '../relay/admin.js';
import { connectMqtt } from './relay-helpers.js';
import { CLI_PATH } from './support/build.js';
import { CliProcess, E2e, freePort, markedJob, type RelayProcess, waitFor } from './support/e2e.js';

const e2e = new E2e();
let relay: RelayProcess;
let api: Awaited<ReturnType<E2e['relay']>>['api'];
beforeAll(async () => {
  ({ relay, api } = await e2e.relay());
}, 60_000);
afterAll(() => e2e.close());

/** `printrelay relay <args>` against the relay's data dir (unless args give another); its output. */
async function admin(args: string[], expectedCode = 0): Promise<string> {
  const withDir = args.includes('--data-dir') ? args : [...args, '--data-dir', relay.dataDir];
  const proc = new CliProcess(`relay ${args.join(' ')}`, ['relay', ...withDir]);
  const code = await proc.exited;
  if (code !== expectedCode) throw new Error(`relay ${args.join(' ')} exited with ${code}:\n${proc.output}`);
  return proc.output;
}

function credentialsIn(output: string, storeId: string): AgentCredentials & { code: string } {
  const password = /^ {2}password {3}(\S+)$/m.exec(output)?.[1];
  const code = /^ {2}([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})$/m.exec(output)?.[1];
  if (!password || !code) throw new Error(`no credentials in:\n${output}`);
  return { storeId, username: storeId, password, clientId: `${storeId}:agent`, code };
}

/** An MQTT client with the store's credentials that records when the broker closes it. */
async function agentClient(
  creds: AgentCredentials,
): Promise<{ client: MqttClient; closedAt: () => number | null }> {
  const client = await connectMqtt(relay.mqttUrl, {
    clientId: creds.clientId,
    username: creds.username,
    password: creds.password,
  });
  let closedAt: number | null = null;
  client.once('close', () => {
    closedAt = Date.now();
  });
  e2e.onClose(() => client.endAsync(true));
  return { client, closedAt: () => closedAt };
}

/** The broker closed the client, at the latest a second after the command that did it returned. */
async function expectClosedWithinASecond(c: { closedAt: () => number | null }): Promise<void> {
  const done = Date.now();
  const at = await waitFor(() => c.closedAt(), 'the broker to disconnect the agent', 3000);
  expect(at - done).toBeLessThan(1000);
}

describe('end to end: operator commands on a running relay', { timeout: 60_000 }, () => {
  it('rotates a store: the old password is refused at once and the connected agent disconnected', async () => {
    const added = await admin(['stores', 'add', 'rot-1', '--name', '轮换店 Rotate']);
    // The running relay answered: the hint names its MQTT address.
    expect(added).toContain(`--relay ${relay.mqttUrl} --password`);
    const old = credentialsIn(added, 'rot-1');
    const connected = await agentClient(old);

    const rotated = await admin(['stores', 'rotate', 'rot-1']);
    expect(rotated).toContain('1 old password(s) revoked; its connected agent was disconnected');
    await expectClosedWithinASecond(connected);
    await expect(connectMqtt(relay.mqttUrl, { ...old, clientId: old.clientId })).rejects.toMatchObject({
      code: 4,
    });
    const fresh = credentialsIn(rotated, 'rot-1');
    expect(fresh.password).not.toBe(old.password);
    (await agentClient(fresh)).client.end(true);
    // The enrolment code printed with the old password was voided with it.
    const enrol = await fetch(`${relay.httpUrl}/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: old.code }),
    });
    expect(enrol.status).toBe(404);
  });

  it('replaces the store credentials on enrolment, disconnecting the agent that used the old ones', async () => {
    const added = credentialsIn(await admin(['stores', 'add', 'enr-1', '--name', 'Enrol']), 'enr-1');
    const connected = await agentClient(added);
    const res = await fetch(`${relay.httpUrl}/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: added.code }),
    });
    expect(res.status).toBe(200);
    const enrolled = (await res.json()) as AgentCredentials;
    await expectClosedWithinASecond(connected);
    await expect(connectMqtt(relay.mqttUrl, { ...added })).rejects.toMatchObject({ code: 4 });
    (await agentClient(enrolled)).client.end(true);
  });

  it('disables a store (agent refused and disconnected, no new jobs), enables it again, and removes it', async () => {
    const creds = credentialsIn(await admin(['stores', 'add', 'dis-1', '--name', 'Disable']), 'dis-1');
    const connected = await agentClient(creds);
    expect(await admin(['stores', 'disable', 'dis-1'])).toContain(
      'Store dis-1 is now disabled; its connected agent was disconnected.',
    );
    await expectClosedWithinASecond(connected);
    await expect(connectMqtt(relay.mqttUrl, { ...creds })).rejects.toMatchObject({ code: 5 });
    const refused = await api.postJob(markedJob('dis-1', 'DIS-1'), 'dis-1');
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toContain('disabled');
    expect(await admin(['stores', 'list'])).toMatch(/dis-1\s+Disable\s+no\s+-\s+-\s+\d{4}-/);

    expect(await admin(['stores', 'enable', 'dis-1'])).toContain('Store dis-1 is enabled again.');
    (await agentClient(creds)).client.end(true);
    expect((await api.postJob(markedJob('dis-1', 'DIS-2'), 'dis-2')).status).toBe(201);

    // A store with a job that may still print is not removed; once it is final, it is.
    const refusedRemove = await admin(['stores', 'remove', 'dis-1'], 1);
    expect(refusedRemove).toContain('store dis-1 has 1 unfinished job(s)');
    const [job] = (
      (await (await api.request('/v1/jobs?storeId=dis-1')).json()) as { jobs: { jobId: string }[] }
    ).jobs;
    expect((await api.request(`/v1/jobs/${job?.jobId}/cancel`, { method: 'POST' })).status).toBe(200);
    expect(await admin(['stores', 'remove', 'dis-1'])).toContain('Store dis-1 removed');
    expect((await api.request('/v1/stores/dis-1')).status).toBe(404);
    await expect(connectMqtt(relay.mqttUrl, { ...creds })).rejects.toMatchObject({ code: 4 });
  });

  it('refuses a data dir with no relay in it, saying where it looked and how to point at the right one', async () => {
    const empty = e2e.tempDir();
    const out = await admin(['stores', 'add', 'lost-1', '--name', 'Lost', '--data-dir', empty], 1);
    expect(out).toContain(`no relay data in ${empty}`);
    expect(out).toContain('--data-dir DIR or PRINTRELAY_RELAY_DATA=DIR');
    expect(readdirSync(empty)).toEqual([]);
    // The environment variable points at the right one.
    const proc = new CliProcess('stores list', ['relay', 'stores', 'list'], {
      env: { PRINTRELAY_RELAY_DATA: relay.dataDir },
      cwd: empty,
    });
    expect(await proc.exited).toBe(0);
    expect(proc.output).toContain('rot-1');
    expect(existsSync(join(empty, 'relay-data'))).toBe(false);
  });
});

describe('end to end: relay start', { timeout: 60_000 }, () => {
  it('names its data dir in every hint, and works on the database when stopped', async () => {
    const dataDir = join(e2e.tempDir(), 'hq data');
    const [http, mqtt] = [await freePort(), await freePort()];
    // A listener turned off by `--<name>-port off` (here the WebSocket one) is not opened.
    const proc = new CliProcess('relay start', [
      ...['relay', 'start', '--data-dir', dataDir, '--host', '127.0.0.1', '--ws-port', 'off'],
      ...['--http-port', String(http), '--mqtt-port', String(mqtt)],
    ]);
    e2e.onClose(() => proc.kill('SIGKILL').then(() => undefined));
    await proc.waitForOutput('Press Ctrl+C to stop.', 20_000);
    // Owner-only: the data dir it made, and the socket that controls it.
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'admin.sock')).mode & 0o777).toBe(0o600);
    const quoted = `--data-dir '${dataDir}'`;
    expect(proc.output).toContain(`printrelay relay stores add <storeId> --name "..." ${quoted}`);
    expect(proc.output).toContain(`printrelay relay keys add --stores all ${quoted}`);
    expect(proc.output).toContain(`--relay mqtt://127.0.0.1:${mqtt} --password <pw>`);
    expect(proc.output).toContain(`POST http://127.0.0.1:${http}/v1/jobs`);
    expect(proc.output).not.toContain('MQTT/WebSocket');
    proc.proc.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    // Stopped: the commands open its database (the socket is gone with the relay).
    expect(existsSync(join(dataDir, 'admin.sock'))).toBe(false);
    const added = await admin(['stores', 'add', 'off-1', '--name', 'Offline', '--data-dir', dataDir]);
    expect(added).toContain('Store off-1 "Offline" created.');
    expect(await admin(['stores', 'rotate', 'off-1', '--data-dir', dataDir])).toContain(
      '(no relay is running: nothing to disconnect)',
    );
  });

  it('says which port is taken and which option moves it', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    e2e.onClose(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = (blocker.address() as AddressInfo).port;
    const proc = new CliProcess('relay start', [
      ...['relay', 'start', '--data-dir', e2e.tempDir(), '--host', '127.0.0.1', '--no-ws'],
      ...['--http-port', '0', '--mqtt-port', String(taken)],
    ]);
    expect(await proc.exited).toBe(1);
    expect(proc.output).toContain(`port ${taken} (relay MQTT): choose another with --mqtt-port`);
    expect(proc.output).not.toContain('EADDRINUSE');
  });

  it('says how many agents it can hold when its limit of open files is low', async () => {
    // prlimit runs it with 1,024 open files, systemd's default for a unit that does not raise it.
    const proc = new NodeChild(
      'relay start',
      [
        '--nofile=1024',
        process.execPath,
        CLI_PATH,
        ...['relay', 'start', '--data-dir', e2e.tempDir(), '--host', '127.0.0.1', '--no-ws'],
        ...['--http-port', '0', '--mqtt-port', '0'],
      ],
      { executable: 'prlimit' },
    );
    e2e.onClose(() => proc.kill('SIGKILL').then(() => undefined));
    await proc.waitForOutput('Press Ctrl+C to stop.', 20_000);
    expect(proc.output).toContain(
      'WARNING: this process may have only 1,024 files open, and each connected agent takes one: at most about 924 agents',
    );
    expect(proc.output).toContain('LimitNOFILE=');
  });

  it('refuses to start beside a relay that already runs on the same data dir', async () => {
    const proc = new CliProcess('relay start', [
      ...['relay', 'start', '--data-dir', relay.dataDir, '--host', '127.0.0.1', '--no-ws'],
      ...['--http-port', '0', '--mqtt-port', '0'],
    ]);
    expect(await proc.exited).toBe(1);
    expect(proc.output).toContain(`another relay is running with the data dir ${relay.dataDir}`);
  });
});
